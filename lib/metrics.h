/* In-process counters for GET /metrics: the HTTP requests this server
 * answered, by method, route pattern and status, with a duration histogram.
 * Labels stay bounded: the route is the pattern of the route table
 * ("/v1/jobs/{id}", never a job id), an unmatched path is "unmatched" with
 * method "other". Thread-safe; a fixed number of series, the rest counted
 * in one overflow series (route "overflow"). */
#ifndef LAKE_METRICS_H
#define LAKE_METRICS_H

#include <stdio.h>

/* `method` and `route` must live as long as the process (the route
 * table's strings); NULL route: unmatched. */
void metrics_http_observe(const char *method, const char *route, unsigned status, double seconds);
/* Writes the HTTP families in Prometheus text format (0.0.4). */
void metrics_http_write(FILE *out);
/* Writes a label value escaped for the text format (\\, \", \n). */
void metrics_write_label_value(FILE *out, const char *v);

#endif
