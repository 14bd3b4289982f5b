/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * sensor.h - the live sensor: load and attach the kernel side, then one
 * epoll loop that drains the ring buffer into the flow table, ticks it on a
 * timer (merge the kernel's per-CPU counters, score, alert, write verdicts
 * in enforce mode), commits alerts to the outbox and pumps the sinks.
 */
#ifndef XF_SENSOR_H
#define XF_SENSOR_H

#include <signal.h>
#include "config.h"

/* Run until *stop is set; flush everything on the way out. Exit code. */
int xf_sensor_run(struct xf_sensor_cfg *cfg, volatile sig_atomic_t *stop);

/* Where a sensor with this pin dir writes its state for `exfilter status`. */
void xf_state_path(const char *pin_dir, char *out, size_t size);

#endif /* XF_SENSOR_H */
