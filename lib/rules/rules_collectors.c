/*
 * The collectors themselves: one that has not polled successfully for a
 * few of its intervals leaves the analyzer blind to its endpoint.
 */
#include <math.h>
#include <stdio.h>

#include "rules/internal.h"

static void eval_collector_down(struct eval *e)
{
	const struct source *s = e->src;
	int64_t interval = s->interval_ms ? s->interval_ms : 15000;
	int64_t base = s->last_ok ? s->last_ok : s->first_seen;
	double quiet = (double)(e->now - base) / 1000.0;
	struct verdict v = verdict_for(e);
	v.source = "analyzer";
	v.breach = e->now - base > (int64_t)(e->p->threshold * (double)interval);
	v.has_value = v.has_threshold = 1;
	v.value = round(quiet);
	v.threshold = e->p->threshold * (double)interval / 1000.0;
	snprintf(v.message, sizeof v.message, "%s: no successful poll for %.0fs%s%s", s->name, quiet,
		 s->last_error[0] ? "; last error: " : "", s->last_error);
	snprintf(v.resolved, sizeof v.resolved, "%s polls successfully again", s->name);
	rule_report(e, &v);
}

const struct rule_def rules_collectors[] = {
	{.type = "CollectorDown", .okind = NRO_OBJ_SERVICE, .severity = NRO_SEV_CRITICAL,
	 .threshold = 3, .min = 1, .max = 1000,
	 .threshold_help = "poll intervals without a successful poll", .source = "analyzer",
	 .eval = eval_collector_down},
	{NULL},
};
