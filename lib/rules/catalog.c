/*
 * The list of rule families: the one place that says which rules exist.
 * --rules, --set, evaluation and the derived metrics all walk it.
 */
#include "rules/internal.h"

static const struct rule_def *const families[] = {
	rules_node, rules_kubelet, rules_pod, rules_resources, rules_collectors,
	rules_host, rules_systemd,
	rules_divergence, /* last: it reads the node rules' alerts of this evaluation */
};

size_t catalog_list(const struct rule_def **defs, size_t max)
{
	size_t n = 0;
	for (size_t f = 0; f < sizeof families / sizeof families[0]; f++)
		for (const struct rule_def *d = families[f]; d->type && n < max; d++)
			defs[n++] = d;
	return n;
}
