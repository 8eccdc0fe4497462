/* Alert delivery: a thread of its own that sends control.alerts to an
 * Alertmanager (its v2 API) and to a generic webhook (Alertmanager's webhook
 * JSON), so no job and no check ever waits on a receiver. */
#ifndef LAKE_MONITOR_DELIVER_H
#define LAKE_MONITOR_DELIVER_H

#include "server/app.h"

#include <stddef.h>

struct alert_delivery;

/* Starts the thread when a receiver is configured (NULL and no error when
 * none is); NULL with err filled when it cannot start. */
struct alert_delivery *alert_delivery_start(struct app *app, char *err, size_t errlen);
/* Stops and frees it (NULL is fine); a post under way ends within its timeout. */
void alert_delivery_stop(struct alert_delivery *d);

#endif
