/*
 * What the rule engine's files share (not for users of rules.h):
 *
 *   facts.c     the fact store: objects (node, pod, container, volume) with
 *               the states and the series the rules declare
 *   engine.c    alerts and their state machine, evaluation, sweeping
 *   restore.c   alerts rebuilt from events read back from the ring
 *   params.c    --set and --rules
 *   derived.c   node_runtime_* metrics
 *   catalog.c   the list of rule families; rules_<family>.c the rules
 *
 * A rule is one const struct rule_def in its family file; nothing else
 * names a rule.
 */
#ifndef NRO_RULES_INTERNAL_H
#define NRO_RULES_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "base/hmap.h"
#include "rules/rules.h"
#include "wire/names.h"
#include "wire/record.h"

#define RULES_MAX 64
#define FLAP_MAX 16
#define FACT_WINDOW 40  /* samples kept per series (10 minutes at 15 s) */
#define FACTS_PER_OBJECT 512
#define STR_NODE 256
#define STR_NS 64
#define STR_POD 256
#define STR_UID 64
#define STR_CTR 64
#define STR_SRC 64

/* ---- sources: the collectors heard from ---- */

struct source {
	char name[STR_SRC], node[STR_NODE];
	int64_t first_seen, last_ok, last_heard;
	uint32_t interval_ms;
	uint64_t gen, snapshots; /* gen counts polls; a complete one ends each */
	int last_status;
	int connect_failing;     /* its last poll failed to connect or timed out */
	char last_error[256];
};

/* ---- the fact store ---- */

/* A series a rule reads: its name and the labels that tell its samples
 * apart on one object ("probe_type,result"; NULL for none). */
enum { SERIES_GAUGE, SERIES_COUNTER, SERIES_TREND };
struct series_def {
	const char *name;
	const char *dims;
	int counter; /* SERIES_*: a counter keeps increases (a decrease is a reset),
		      * a trend its recent values; a gauge only its last two */
};

/* The recent samples of a counter or trend, oldest first from head - len. */
struct window {
	int64_t t[FACT_WINDOW];
	double v[FACT_WINDOW], d[FACT_WINDOW]; /* value, and increase (NaN: none) */
	int len, head;
};

/* One series on one object: the last two samples and a short window. */
struct fact {
	const struct series_def *def;
	char dims[128];     /* the label values, '|'-joined in dims order */
	double last, prev;
	int64_t t_last, t_prev;
	int64_t t_changed;  /* when the value last changed (first seen, at first) */
	int n;              /* samples seen: 1, then 2 and more */
	struct source *src; /* who sent the last sample, and in which poll */
	uint64_t gen;
	struct window *w;   /* counters and trends only; NULL for gauges */
};

enum { EV_MEM, EV_NODEFS, EV_NODEFS_INODES, EV_IMAGEFS, EV_IMAGEFS_INODES, EV_PID, EV_COUNT };
extern const char *const eviction_signals[EV_COUNT];

struct threshold {
	int set, pct;
	double v;
	char text[32];   /* as the kubelet wrote it: "100Mi", "10%" */
	int from_config; /* 1 config, 0 the kubelet's default */
};

struct node_facts {
	int healthz, syncloop_check, syncloop; /* -1 unknown, 0 failed, 1 ok */
	char healthz_reason[256], syncloop_reason[256];
	struct threshold ev[EV_COUNT];
	int have_config;           /* ev holds what configz published */
	struct source *config_src; /* the poll that published ev and max_pods */
	uint64_t config_gen;
	double max_pods;           /* 0: not published */
	double transition_s;       /* evictionPressureTransitionPeriod (s); 0: not published */
	struct nro_hmap events_total, errors_total; /* name -> (double *) */
};

struct pod_facts {
	char phase[16], reason[64];
	int ready;
};

struct ctr_facts {
	char state[16], reason[64], last_term[64];
	char id[80]; /* the runtime's container ID, without "containerd://" */
	int ready, init, have_restarts, restarts_increased;
	/* restarts_increased: restarts above the count ContainerRestarted last
	 * judged, not above the previous state: a collector killed between two
	 * states of one poll repeats the new count after its restart, and the
	 * rise must still be seen once */
	double restarts, restarts_judged, exit_code;
	int64_t last_term_at;
};

struct volume_facts {
	char pvc[STR_POD];
};

/* A host or service state (collector-node, -kmsg, -systemd, -runtime) as
 * the rules read it, kept on the node. Conditions (host.clock, a unit) are
 * replaced by each state and forgotten when their source's snapshot does not
 * repeat them; kernel problems (host.kernel.*) are occurrences: each one
 * counts, and they are kept until HSTATE_KEEP_MS after the last. */
struct fobj;
struct eval;
struct fact_store;
#define HSTATES_PER_NODE 256
#define HSTATE_ATTRS 12
#define HSTATE_KEEP_MS (24 * 3600 * 1000LL)
struct hstate {
	char key[64], object[128], value[128]; /* object: the unit, else empty */
	double num;
	int64_t since, t_first, t_last;  /* since as sent; t_* on our clock */
	uint64_t count, judged;          /* occurrences seen, and seen by the rule */
	uint64_t changes;                /* times value differed from the last one */
	double prev_num;                 /* num before the last state */
	int judged_once;                 /* the rule has looked at it */
	int64_t mark;                    /* a rule's timer (the divergence rules: when
					  * they first saw it disagree; 0: agrees) */
	int occurrence;                  /* a host.kernel.* problem */
	struct source *src;
	uint64_t gen;
	int nattrs;
	struct {
		char k[32], v[256];
	} attrs[HSTATE_ATTRS];
};
/* An attribute of a host state; "" when absent. */
const char *hstate_attr(const struct hstate *h, const char *key);
/* Calls fn for every host state of node o whose key starts with prefix. */
typedef void (*hstate_fn)(void *ctx, struct hstate *h);
int hstate_each(struct fobj *o, const char *prefix, hstate_fn fn, void *ctx);
/* Occurrences (or value changes, if changes) not yet judged, marking them
 * judged; a rule's reading of a host state. */
uint64_t hstate_news(struct hstate *h, int changes);
/* NodeNetworkIssue (rules_node.c) also judges the runtime's NetworkReady
 * (rules_systemd.c) and physical links going down (rules_host.c). */
void runtime_network_issue(struct eval *e);
void host_link_down(struct eval *e);
/* NodeCPUPressure, NodeMemoryPressure, NodePIDPressure from the host's own
 * figures (collector-node) when the kubelet's are missing; 0: none either.
 * The node rules declare the host series they read. */
int host_cpu_pressure(struct eval *e);
int host_memory_pressure(struct eval *e);
int host_pid_pressure(struct eval *e);

/* The pod and container a pod UID and container ID name; 0 when unknown. */
int facts_find_container(struct fact_store *fs, const char *uid, const char *ctr_id,
			 const struct fobj **pod, const struct fobj **ctr);

/* The API server's view of a pod or container (collector-apiserver's api.*
 * states, lib/wire/names_apiserver.h), kept beside the kubelet's: it never
 * owns the object (has_state and state_src stay the kubelet collectors'),
 * and a complete snapshot of one side forgets only that side's view. */
struct api_view {
	struct source *src; /* who listed it, and in which poll */
	uint64_t gen;
	int listed;         /* the API's last complete poll listed it */
	char phase[16];     /* pods: api.pod.phase */
	char state[16], reason[64]; /* containers: api.container.state */
	double restarts;    /* containers: api.container.restarts */
	int have_restarts;
};
/* An api.* state, or any state marked source=apiserver: the API's view. */
int is_api_state(const struct nro_state *s);

/* An object the rules judge. Its states come from one source (pods from
 * collector-pods); its facts from any; the API server's view of it (api)
 * is kept apart. */
struct fobj {
	uint8_t kind; /* NRO_OBJ_* */
	char node[STR_NODE], ns[STR_NS], pod[STR_POD], uid[STR_UID], container[STR_CTR];
	char name[STR_POD]; /* node or volume name */
	struct source *state_src;
	uint64_t state_gen;
	int has_state;
	struct api_view api;   /* pods and containers */
	struct nro_hmap facts; /* "series|dims" -> struct fact */
	struct nro_hmap hstates; /* nodes: "key|object|subject" -> struct hstate */
	union {
		struct node_facts node;
		struct pod_facts pod;
		struct ctr_facts ctr;
		struct volume_facts vol;
	} u;
};

#define OBJ_KINDS (NRO_OBJ_VOLUME + 1)

struct fact_store {
	struct nro_hmap objs[OBJ_KINDS]; /* per kind: identity -> struct fobj */
	struct nro_hmap sources;         /* name -> struct source */
	struct nro_hmap pod_uids;        /* "ns/pod" -> uid (char *), for series without one */
	struct nro_hmap series;          /* declared series name -> const struct series_def */
	uint64_t dropped[OBJ_KINDS];     /* objects refused at the cap */
	uint64_t dropped_facts;
	int pushed; /* a state arrived between polls (collector-systemd's pushes) */
	uint64_t dropped_sources; /* records from a source past SOURCES_MAX */
};

#define SOURCES_MAX 256
/* A source silent this long (and past 10 intervals) no longer vouches for
 * what it listed: its objects are forgotten as if a poll had not listed them
 * (a source that never sends a health record is swept this way too). */
#define SOURCE_STALE_MS (30 * 60 * 1000)
/* Alerts tracked at once: past it new ones are refused and counted
 * (50k crash-looping containers must not take the analyzer's memory). */
#define ALERTS_MAX 8192

void facts_init(struct fact_store *fs);
/* Forgets the objects of sources silent past SOURCE_STALE_MS (tick). */
void facts_sweep_silent(struct fact_store *fs, int64_t now);
void facts_free(struct fact_store *fs);
/* Declares a series the rules read; only declared series are kept. */
void facts_declare(struct fact_store *fs, const struct series_def *sd);
void facts_take(struct nro_rules *r, struct nro_msg *m, int64_t now);
struct fobj *facts_node(struct fact_store *fs, const char *name); /* found or made */
struct source *facts_source(struct fact_store *fs, struct nro_str name, const char *node,
			    int64_t now);

/* Reading facts (rules): NULL / 0 when the series is not known. */
const struct fact *fact_get(const struct fobj *o, const char *series, const char *dims);
/* Its last value; 0 when absent (check with fact_get where 0 means something). */
int fact_value(const struct fobj *o, const char *series, double *v);
/* Sum of the increases within the last window_ms (counters; resets add 0).
 * Returns 0 when fewer than two samples fall inside, else 1. */
int fact_increase(const struct fact *f, int64_t window_ms, int64_t now, double *inc);
/* The increase between the last two samples; 0 without two. */
int fact_last_increase(const struct fact *f, double *inc);
/* Least-squares value of the window's samples at time at; 0 without 3. */
int fact_predict(const struct fact *f, int64_t at, double *v);
/* Calls fn (unless NULL) for every fact of o named series; returns how many. */
typedef void (*fact_fn)(void *ctx, const struct fact *f);
int fact_each(const struct fobj *o, const char *series, fact_fn fn, void *ctx);
/* The i-th '|'-separated label value of f (empty if absent) into out. */
void fact_dim(const struct fact *f, int i, char *out, size_t outlen);
/* The q-quantile of a histogram's bucket series over window_ms from bucket
 * increases (Prometheus' histogram_quantile); 0 when there is no data. */
int fact_quantile(const struct fobj *o, const char *bucket_series, double q, int64_t window_ms,
		  int64_t now, double *v);

/* ---- rules ---- */

struct eval;
typedef void (*rule_eval_fn)(struct eval *e);

struct rule_def {
	const char *type;  /* the event type */
	uint8_t okind;     /* the objects it judges: NRO_OBJ_*, or NRO_OBJ_SERVICE (sources) */
	uint8_t okind2;    /* a second kind it judges too (0: none; KubeletAPIDivergence:
			    * pods and their containers) */
	uint8_t severity;
	int64_t for_ms, resolve_ms;
	double threshold, min, max; /* default, and the range --set accepts */
	const char *threshold_help;
	int has_critical;           /* a second, critical tier the user sets */
	double critical;
	const char *critical_help;
	const char *tiers;          /* tiers not set by --set (e.g. eviction thresholds) */
	const char *condition;      /* node_runtime_condition{condition} it drives, or NULL */
	int inverted;               /* the condition is true while the alert is NOT firing */
	const char *source;         /* the collector(s) whose data it judges */
	const struct series_def *series; /* {NULL}-terminated, or NULL */
	const char *const *states;       /* NULL-terminated state keys, or NULL */
	rule_eval_fn eval;
};

/* The families (catalog.c): each a {NULL}-terminated array. */
extern const struct rule_def rules_node[], rules_pod[], rules_resources[], rules_kubelet[],
	rules_collectors[], rules_host[], rules_systemd[], rules_divergence[];
/* Every rule, in a stable order: fills defs (up to max); returns the count. */
size_t catalog_list(const struct rule_def **defs, size_t max);

/* Parameters as set now (defaults, then --set). */
enum { SET_FOR = 1, SET_RESOLVE = 2, SET_THRESHOLD = 4, SET_CRITICAL = 8, SET_SEVERITY = 16,
       SET_ENABLED = 32 };
struct rule_params {
	int64_t for_ms, resolve_ms;
	double threshold, critical;
	int severity, enabled;
	unsigned set; /* SET_* given by flag */
};

/* One evaluation of a rule on one object. */
struct eval {
	struct nro_rules *r;
	int rule;
	const struct rule_def *def;
	const struct rule_params *p;
	struct fobj *obj;   /* NULL for sources */
	struct source *src; /* for NRO_OBJ_SERVICE rules */
	int64_t now;
};

/* What a rule concluded about its object (one alert; several per object
 * with different sub, e.g. one per probe type). */
struct verdict {
	int unknown;  /* data too young to judge (one sample of a counter): an
		       * alert keeps its state, as after a restart */
	int breach;
	int severity;
	int has_value, has_threshold;
	double value, threshold;
	const char *sub;                     /* tells apart alerts on one object */
	const char *detail_key, *detail_val; /* an attribute naming sub */
	const char *source;                  /* whose data (default: the rule's first) */
	struct {                             /* when kind is set: the object the alert
					      * is about, if not the judged one (a
					      * unit, the container an OOM kill hit) */
		uint8_t kind;
		const char *ns, *pod, *uid, *container, *name;
	} about;
	char message[384];                   /* what is wrong, for the firing event */
	char resolved[384];                  /* the current state, for the resolved one */
};

/* A verdict with the rule's defaults (not breached, its severity). */
struct verdict verdict_for(const struct eval *e);
/* Hands v to the state machine of (rule, object, v->sub). */
void rule_report(struct eval *e, struct verdict *v);
/* A verdict with the rule's defaults on pct, a percentage: breached above
 * the rule's threshold; value (to a tenth) and threshold set for the event;
 * from source's data (NULL: verdict_for's). */
struct verdict verdict_percent(const struct eval *e, const char *source, double pct);
/* A verdict with the rule's defaults on counter f's increase since the last
 * poll (into *added): breached above the rule's threshold, unknown without
 * an increase yet; from f's source, told apart by sub (named detail_key). */
struct verdict verdict_increase(const struct eval *e, const struct fact *f, const char *sub,
				const char *detail_key, double *added);
/* v rounded to a tenth, as events carry percentages. */
double tenth(double v);
/* "container C in pod NS/P" */
void ctr_words(const struct fobj *o, char *out, size_t n);

/* ---- the engine's state ---- */

enum alert_state { S_INACTIVE, S_PENDING, S_FIRING, S_RESOLVING, S_COUNT };

struct alert {
	int rule;
	enum alert_state state;
	int emitted; /* what subscribers were last told: -1 nothing, else NRO_EV_* */
	int flapping;
	int64_t since, clear_since, last_change;
	int64_t changes[FLAP_MAX];
	int nchanges;
	uint64_t gen;
	int severity, has_value, has_threshold;
	double value, threshold;
	uint8_t okind;
	char node[STR_NODE], ns[STR_NS], pod[STR_POD], uid[STR_UID], container[STR_CTR];
	char name[STR_POD], sub[64], detail_key[32];
	char source[STR_SRC];
	char message[384], resolved[384];
};

struct nro_rules {
	const struct rule_def *defs[RULES_MAX];
	struct rule_params params[RULES_MAX];
	int nrules;
	nro_rules_event_fn on_event;
	void *ctx;
	struct fact_store fs;
	struct nro_hmap alerts;
	uint64_t eval_gen;
	int64_t flap_window_ms;
	int flap_changes;
	unsigned flap_set; /* 1 window, 2 changes given by flag */
	uint64_t dropped_alerts; /* refused at ALERTS_MAX */
	int muted; /* nro_rules_primed: judging without telling anyone */
};

/* engine.c */
int rules_find(const struct nro_rules *r, const char *type, size_t len);
void alert_key(char *key, size_t n, int rule, const char *node, const char *ns, const char *pod,
	       const char *uid, const char *container, const char *name, const char *sub);

/* small helpers (facts.c) */
void str_copy(char *dst, size_t n, struct nro_str s);
int attr_get(const struct nro_attr *a, uint16_t n, const char *key, char *out, size_t outlen);
double *counter_of(struct nro_hmap *m, const char *name);
void free_values(struct nro_hmap *m);
/* "1.5 GiB", "300 MiB", "12 KiB", "17 B" */
void fmt_bytes(char *out, size_t n, double bytes);
/* "3d 4h", "5h 2m", "40s" */
void fmt_secs(char *out, size_t n, double s);

#endif
