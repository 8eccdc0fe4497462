/* The HTTP request counters and histogram (see metrics.h). A request adds
 * to its series under one mutex: a linear search over at most MAX_SERIES
 * entries whose keys are pointers to the route table's strings, so cheap. */
#include "lib/metrics.h"

#include <pthread.h>
#include <string.h>

#define MAX_SERIES 256

static const double buckets[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
#define NBUCKETS (sizeof buckets / sizeof buckets[0])

struct series {
	const char *method, *route;
	unsigned status;
	unsigned long long count;
	unsigned long long in_bucket[NBUCKETS]; /* not cumulative; summed when written */
	double sum;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct series table[MAX_SERIES];
static size_t used;

void metrics_http_observe(const char *method, const char *route, unsigned status, double seconds)
{
	if (!route) {
		route = "unmatched";
		method = "other";
	}
	pthread_mutex_lock(&lock);
	struct series *s = NULL;
	for (size_t i = 0; i < used && !s; i++)
		if (table[i].status == status && table[i].route == route && table[i].method == method)
			s = &table[i];
	if (!s && used < MAX_SERIES - 1) {
		s = &table[used++];
		*s = (struct series){.method = method, .route = route, .status = status};
	}
	if (!s) { /* the last slot takes every series that did not fit */
		s = &table[MAX_SERIES - 1];
		if (!s->route)
			*s = (struct series){.method = "other", .route = "overflow", .status = 0};
	}
	s->count++;
	s->sum += seconds;
	for (size_t b = 0; b < NBUCKETS; b++)
		if (seconds <= buckets[b]) {
			s->in_bucket[b]++;
			break;
		}
	pthread_mutex_unlock(&lock);
}

void metrics_write_label_value(FILE *out, const char *v)
{
	for (; v && *v; v++) {
		if (*v == '\\' || *v == '"')
			fputc('\\', out), fputc(*v, out);
		else if (*v == '\n')
			fputs("\\n", out);
		else
			fputc(*v, out);
	}
}

static void labels(FILE *out, const struct series *s)
{
	fputs("method=\"", out);
	metrics_write_label_value(out, s->method);
	fputs("\",route=\"", out);
	metrics_write_label_value(out, s->route);
	fprintf(out, "\",status=\"%u\"", s->status);
}

void metrics_http_write(FILE *out)
{
	pthread_mutex_lock(&lock);
	size_t n = used;
	if (table[MAX_SERIES - 1].route)
		n = MAX_SERIES;
	fputs("# HELP shopperlake_http_requests_total HTTP requests answered by this server.\n"
	      "# TYPE shopperlake_http_requests_total counter\n", out);
	for (size_t i = 0; i < n; i++) {
		if (!table[i].route)
			continue;
		fputs("shopperlake_http_requests_total{", out);
		labels(out, &table[i]);
		fprintf(out, "} %llu\n", table[i].count);
	}
	fputs("# HELP shopperlake_http_request_duration_seconds Time from a request's first byte to its answer.\n"
	      "# TYPE shopperlake_http_request_duration_seconds histogram\n", out);
	for (size_t i = 0; i < n; i++) {
		const struct series *s = &table[i];
		if (!s->route)
			continue;
		unsigned long long cum = 0;
		for (size_t b = 0; b < NBUCKETS; b++) {
			cum += s->in_bucket[b];
			fputs("shopperlake_http_request_duration_seconds_bucket{", out);
			labels(out, s);
			fprintf(out, ",le=\"%g\"} %llu\n", buckets[b], cum);
		}
		fputs("shopperlake_http_request_duration_seconds_bucket{", out);
		labels(out, s);
		fprintf(out, ",le=\"+Inf\"} %llu\n", s->count);
		fputs("shopperlake_http_request_duration_seconds_sum{", out);
		labels(out, s);
		fprintf(out, "} %.6f\n", s->sum);
		fputs("shopperlake_http_request_duration_seconds_count{", out);
		labels(out, s);
		fprintf(out, "} %llu\n", s->count);
	}
	pthread_mutex_unlock(&lock);
}
