/*
 * Rule parameters: --set TYPE.KEY=VALUE (checked against each rule's range)
 * and --rules (every rule, every tier, where each value comes from).
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/durations.h"
#include "rules/internal.h"

static int set_flap(struct nro_rules *r, const char *key, const char *val, char *err,
		    size_t errlen)
{
	int64_t d;
	uint64_t u;
	if (strcmp(key, "window") == 0 && nro_parse_duration(val, &d) == 0 && d > 0) {
		r->flap_window_ms = d;
		r->flap_set |= 1;
		return 0;
	}
	if (strcmp(key, "changes") == 0 && nro_parse_u64(val, &u) == 0 && u >= 2 && u <= FLAP_MAX) {
		r->flap_changes = (int)u;
		r->flap_set |= 2;
		return 0;
	}
	snprintf(err, errlen, "flap.window takes a duration above 0, flap.changes 2..%d", FLAP_MAX);
	return -1;
}

static int set_number(const struct rule_def *d, const char *key, const char *val, double *out,
		      char *err, size_t errlen)
{
	char *end;
	double v = strtod(val, &end);
	if (!*val || *end || !isfinite(v)) {
		snprintf(err, errlen, "%s.%s takes a number", d->type, key);
		return -1;
	}
	if (v < d->min || v > d->max) {
		snprintf(err, errlen, "%s.%s must be within %g..%g (%s)", d->type, key, d->min, d->max,
			 strcmp(key, "critical") == 0 ? d->critical_help : d->threshold_help);
		return -1;
	}
	*out = v;
	return 0;
}

static int set_bool(const char *val, int *out)
{
	if (strcmp(val, "true") == 0 || strcmp(val, "1") == 0)
		*out = 1;
	else if (strcmp(val, "false") == 0 || strcmp(val, "0") == 0)
		*out = 0;
	else
		return -1;
	return 0;
}

static int set_key(const struct rule_def *d, struct rule_params *p, const char *key,
		   const char *val, char *err, size_t errlen)
{
	int64_t ms;
	if (strcmp(key, "for") == 0 || strcmp(key, "resolve_after") == 0) {
		if (nro_parse_duration(val, &ms) != 0) {
			snprintf(err, errlen, "%s.%s takes a duration (0s, 30s, 5m)", d->type, key);
			return -1;
		}
		*(key[0] == 'f' ? &p->for_ms : &p->resolve_ms) = ms;
		p->set |= key[0] == 'f' ? SET_FOR : SET_RESOLVE;
	} else if (strcmp(key, "threshold") == 0 && d->threshold_help) {
		if (set_number(d, key, val, &p->threshold, err, errlen) != 0)
			return -1;
		p->set |= SET_THRESHOLD;
	} else if (strcmp(key, "critical") == 0 && d->has_critical) {
		if (set_number(d, key, val, &p->critical, err, errlen) != 0)
			return -1;
		p->set |= SET_CRITICAL;
	} else if (strcmp(key, "severity") == 0) {
		int s = nro_severity_parse(val);
		if (s < 0) {
			snprintf(err, errlen, "%s.severity is info, warning or critical", d->type);
			return -1;
		}
		p->severity = s;
		p->set |= SET_SEVERITY;
	} else if (strcmp(key, "enabled") == 0) {
		if (set_bool(val, &p->enabled) != 0) {
			snprintf(err, errlen, "%s.enabled is true or false", d->type);
			return -1;
		}
		p->set |= SET_ENABLED;
	} else {
		snprintf(err, errlen, "unknown key '%s' for %s (for, resolve_after,%s%s severity, enabled)",
			 key, d->type, d->threshold_help ? " threshold," : "",
			 d->has_critical ? " critical," : "");
		return -1;
	}
	return 0;
}

int nro_rules_set(struct nro_rules *r, const char *kv, char *err, size_t errlen)
{
	const char *dot = strchr(kv, '.'), *eq = strchr(kv, '=');
	if (!dot || !eq || eq < dot) {
		snprintf(err, errlen, "want <EventType>.<key>=<value>");
		return -1;
	}
	char key[32];
	size_t tl = (size_t)(dot - kv), kl = (size_t)(eq - dot - 1);
	if (kl >= sizeof key) {
		snprintf(err, errlen, "unknown key '%.*s'", (int)kl, dot + 1);
		return -1;
	}
	memcpy(key, dot + 1, kl);
	key[kl] = '\0';
	if (tl == 4 && strncmp(kv, "flap", 4) == 0)
		return set_flap(r, key, eq + 1, err, errlen);
	int i = rules_find(r, kv, tl);
	if (i < 0) {
		snprintf(err, errlen, "unknown event type '%.*s' (analyzer --rules lists them)", (int)tl,
			 kv);
		return -1;
	}
	return set_key(r->defs[i], &r->params[i], key, eq + 1, err, errlen);
}

/* ---- --rules ---- */

struct out {
	char *p;
	size_t len, off;
};

static void put(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct out *o, const char *fmt, ...)
{
	if (o->off >= o->len)
		return;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(o->p + o->off, o->len - o->off, fmt, ap);
	va_end(ap);
	if (n > 0)
		o->off += (size_t)n < o->len - o->off ? (size_t)n : o->len - o->off - 1;
}

/* Text wrapped at 80 columns under a first-line prefix. */
static void put_wrapped(struct out *o, const char *prefix, const char *text)
{
	size_t indent = strlen(prefix), width = 80 - indent;
	put(o, "%s", prefix);
	while (*text) {
		size_t n = strlen(text);
		if (n > width) {
			n = width;
			while (n > 0 && text[n] != ' ')
				n--;
			if (n == 0)
				n = width;
		}
		put(o, "%.*s\n", (int)n, text);
		text += n;
		while (*text == ' ')
			text++;
		if (*text)
			put(o, "%*s", (int)indent, "");
	}
}

static void fmt_ms(char *out, size_t n, int64_t ms)
{
	if (ms % 1000)
		snprintf(out, n, "%lldms", (long long)ms);
	else if (ms && ms % 60000 == 0)
		snprintf(out, n, "%lldm", (long long)(ms / 60000));
	else
		snprintf(out, n, "%llds", (long long)(ms / 1000));
}

static const char *from(const struct rule_params *p, unsigned bit)
{
	return p->set & bit ? "flag" : "default";
}

static void describe_rule(struct out *o, const struct rule_def *d, const struct rule_params *p)
{
	char f[24], ra[24];
	fmt_ms(f, sizeof f, p->for_ms);
	fmt_ms(ra, sizeof ra, p->resolve_ms);
	put(o, "  %s severity=%s for=%s resolve_after=%s%s\n", d->type,
	    nro_severity_name((uint8_t)p->severity), f, ra, p->enabled ? "" : " enabled=false");
	char line[400];
	if (d->threshold_help) {
		snprintf(line, sizeof line, "threshold=%g source=%s (%g..%g): %s", p->threshold,
			 from(p, SET_THRESHOLD), d->min, d->max, d->threshold_help);
		put_wrapped(o, "      ", line);
	}
	if (d->has_critical) {
		snprintf(line, sizeof line, "critical=%g source=%s (%g..%g): %s", p->critical,
			 from(p, SET_CRITICAL), d->min, d->max, d->critical_help);
		put_wrapped(o, "      ", line);
	}
	if (d->tiers)
		put_wrapped(o, "      tier: ", d->tiers);
	if (p->set & (SET_FOR | SET_RESOLVE | SET_SEVERITY | SET_ENABLED))
		put(o, "      set by flag:%s%s%s%s\n", p->set & SET_FOR ? " for" : "",
		    p->set & SET_RESOLVE ? " resolve_after" : "",
		    p->set & SET_SEVERITY ? " severity" : "", p->set & SET_ENABLED ? " enabled" : "");
}

void nro_rules_describe(const struct nro_rules *r, char *out, size_t outlen)
{
	struct out o = {out, outlen, 0};
	out[0] = '\0';
	for (int i = 0; i < r->nrules; i++)
		describe_rule(&o, r->defs[i], &r->params[i]);
	char w[24];
	fmt_ms(w, sizeof w, r->flap_window_ms);
	put(&o, "  flapping: flap.window=%s flap.changes=%d source=%s\n", w, r->flap_changes,
	    r->flap_set ? "flag" : "default");
	put_wrapped(&o, "      ", "an alert changing state flap.changes times within flap.window is "
				  "held firing until it settles (set with --set flap.window=D)");
}
