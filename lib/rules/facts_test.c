/* The fact store on its own: increases across resets, windows, quantiles,
 * trends, its caps, and what a complete snapshot forgets. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/testing.h"
#include "rules/internal.h"

static struct nro_enc enc;

static void on_event(void *ctx, const char *node, const struct nro_event *ev)
{
	(void)ctx, (void)node, (void)ev;
}

static void send(struct nro_rules *r, int64_t now)
{
	size_t len = nro_enc_finish(&enc);
	struct nro_msg m;
	if (nro_decode(&m, enc.buf, len, NULL) != 0)
		abort();
	nro_rules_feed(r, &m, now);
}

/* One sample of a node series with one label, then the end of the poll. */
static void sample(struct nro_rules *r, int64_t now, const char *name, const char *label,
		   const char *lv, double v)
{
	struct nro_attr a[1] = {{nro_s(label ? label : "x"), nro_s(lv ? lv : "")}};
	struct nro_metric m = {nro_s(name), nro_s(""), NRO_MT_COUNTER, v, 0, label ? 1 : 0, a};
	nro_enc_begin(&enc, NRO_KIND_METRIC, 1, now, "collector-metrics", "n1");
	nro_enc_metric(&enc, &m);
	send(r, now);
}

static void poll_end(struct nro_rules *r, int64_t now)
{
	struct nro_health h = {NRO_HEALTH_OK, 200, 15000, 1, 1, nro_s("/"), nro_s("")};
	nro_enc_begin(&enc, NRO_KIND_HEALTH, 1, now, "collector-metrics", "n1");
	nro_enc_health(&enc, &h);
	send(r, now);
}

static struct fobj *node(struct nro_rules *r)
{
	return nro_hmap_get(&r->fs.objs[NRO_OBJ_NODE], "n1");
}

TEST(a_counter_reset_is_an_increase_of_zero)
{
	struct nro_rules *r = nro_rules_new(on_event, NULL);
	static const double v[] = {100, 150, 20, 30};
	for (int i = 0; i < 4; i++) {
		sample(r, 1000 + i * 15000, NRO_M_EVICTIONS, "eviction_signal", "memory.available",
		       v[i]);
		poll_end(r, 1000 + i * 15000);
	}
	const struct fact *f = fact_get(node(r), NRO_M_EVICTIONS, "memory.available");
	double inc = -1;
	CHECK(f && fact_increase(f, 300000, 46000, &inc) && inc == 60);
	CHECK(fact_last_increase(f, &inc) && inc == 10);
	CHECK(fact_increase(f, 20000, 46000, &inc) && inc == 10); /* only the last step */
	nro_rules_free(r);
}

TEST(undeclared_series_are_not_kept)
{
	struct nro_rules *r = nro_rules_new(on_event, NULL);
	sample(r, 1000, "container_fs_reads_total", NULL, NULL, 5);
	poll_end(r, 1000);
	CHECK(node(r) && node(r)->facts.n == 0);
	nro_rules_free(r);
}

TEST(histogram_quantile_from_bucket_increases)
{
	struct nro_rules *r = nro_rules_new(on_event, NULL);
	static const char *le[] = {"1", "10", "30", "+Inf"};
	static const double t0[] = {0, 0, 0, 0}, t1[] = {50, 90, 100, 100};
	for (int i = 0; i < 4; i++)
		sample(r, 1000, NRO_M_PLEG_RELIST_BUCKET, "le", le[i], t0[i]);
	poll_end(r, 1000);
	for (int i = 0; i < 4; i++)
		sample(r, 16000, NRO_M_PLEG_RELIST_BUCKET, "le", le[i], t1[i]);
	poll_end(r, 16000);
	double q = 0;
	/* rank 50 of 100 is the top of the first bucket; 95 is halfway into (10, 30] */
	CHECK(fact_quantile(node(r), NRO_M_PLEG_RELIST_BUCKET, 0.5, 300000, 16000, &q) && q == 1);
	CHECK(fact_quantile(node(r), NRO_M_PLEG_RELIST_BUCKET, 0.95, 300000, 16000, &q) &&
	      fabs(q - 20) < 1e-9);
	/* outside the window: no observations, no answer */
	CHECK(!fact_quantile(node(r), NRO_M_PLEG_RELIST_BUCKET, 0.99, 1000, 400000, &q));
	nro_rules_free(r);
}

TEST(a_trend_predicts_by_least_squares)
{
	struct nro_rules *r = nro_rules_new(on_event, NULL);
	for (int i = 0; i < 4; i++) {
		sample(r, i * 10000, NRO_M_NODE_FS_AVAILABLE, NULL, NULL, 1000 - i * 100);
		poll_end(r, i * 10000);
	}
	double at = 0;
	CHECK(fact_predict(fact_get(node(r), NRO_M_NODE_FS_AVAILABLE, NULL), 100000, &at) &&
	      fabs(at) < 1e-6);
	/* a gauge keeps no window */
	sample(r, 50000, NRO_M_NODE_MEM_AVAILABLE, NULL, NULL, 5);
	CHECK(!fact_predict(fact_get(node(r), NRO_M_NODE_MEM_AVAILABLE, NULL), 0, &at));
	nro_rules_free(r);
}

TEST(facts_per_object_are_capped_and_drops_counted)
{
	struct nro_rules *r = nro_rules_new(on_event, NULL);
	char op[32];
	for (int i = 0; i < FACTS_PER_OBJECT + 40; i++) {
		snprintf(op, sizeof op, "op%d", i);
		sample(r, 1000, NRO_M_RUNTIME_ERRORS, "operation_type", op, 1);
	}
	CHECK(node(r)->facts.n == FACTS_PER_OBJECT);
	CHECK(r->fs.dropped_facts == 40);
	nro_rules_free(r);
}

TEST(a_complete_snapshot_forgets_what_it_no_longer_lists)
{
	struct nro_rules *r = nro_rules_new(on_event, NULL);
	sample(r, 1000, NRO_M_RUNTIME_ERRORS, "operation_type", "a", 1);
	sample(r, 1000, NRO_M_RUNTIME_ERRORS, "operation_type", "b", 1);
	poll_end(r, 1000);
	sample(r, 2000, NRO_M_RUNTIME_ERRORS, "operation_type", "b", 2);
	CHECK(node(r)->facts.n == 2); /* not before the poll is complete */
	poll_end(r, 2000);
	CHECK(node(r)->facts.n == 1);
	CHECK(fact_get(node(r), NRO_M_RUNTIME_ERRORS, "b") != NULL);
	nro_rules_free(r);
}

/* A container state from source, with the pod UID (and source=apiserver
 * for collector-apiserver), then (if end) the end of source's poll. */
static void ctr_state(struct nro_rules *r, int64_t now, const char *source, const char *key,
		      const char *value, double num)
{
	int api = strcmp(source, "collector-apiserver") == 0;
	struct nro_attr a[2] = {{nro_s(NRO_A_POD_UID), nro_s("u1")},
				{nro_s(NRO_A_SOURCE), nro_s("apiserver")}};
	struct nro_state st = {{NRO_OBJ_CONTAINER, nro_s("ns"), nro_s("p"), nro_s("c"), nro_s("")},
			       nro_s(key), nro_s(value), num, 0, (uint16_t)(api ? 2 : 1), a};
	nro_enc_begin(&enc, NRO_KIND_STATE, 1, now, source, "n1");
	nro_enc_state(&enc, &st);
	send(r, now);
}

static void end_of(struct nro_rules *r, int64_t now, const char *source)
{
	struct nro_health h = {NRO_HEALTH_OK, 200, 15000, 1, 1, nro_s("/"), nro_s("")};
	nro_enc_begin(&enc, NRO_KIND_HEALTH, 1, now, source, "n1");
	nro_enc_health(&enc, &h);
	send(r, now);
}

static struct fobj *the_container(struct nro_rules *r)
{
	return nro_hmap_get(&r->fs.objs[NRO_OBJ_CONTAINER], "ns/p/u1/c/");
}

/* collector-apiserver's view of a container sits beside collector-pods':
 * it neither owns the object nor overwrites the kubelet's facts, and each
 * side's snapshot forgets only its own view. */
TEST(the_api_view_is_kept_apart_from_the_kubelets)
{
	struct nro_rules *r = nro_rules_new(on_event, NULL);
	ctr_state(r, 1000, "collector-pods", NRO_K_CTR_STATE, "running", 0);
	ctr_state(r, 1000, "collector-pods", NRO_K_CTR_RESTARTS, "", 3);
	end_of(r, 1000, "collector-pods");
	ctr_state(r, 2000, "collector-apiserver", "api.container.state", "waiting", 0);
	ctr_state(r, 2000, "collector-apiserver", "api.container.restarts", "", 5);
	/* a kubelet key marked source=apiserver is the API's too, never the kubelet's */
	ctr_state(r, 2000, "collector-apiserver", NRO_K_CTR_RESTARTS, "", 9);
	end_of(r, 2000, "collector-apiserver");
	struct fobj *c = the_container(r);
	CHECK(c && c->has_state && c->state_src && strcmp(c->state_src->name, "collector-pods") == 0);
	CHECK(c && strcmp(c->u.ctr.state, "running") == 0 && c->u.ctr.restarts == 3);
	CHECK(c && !c->u.ctr.restarts_increased);
	CHECK(c && c->api.listed && strcmp(c->api.state, "waiting") == 0 && c->api.restarts == 5);
	/* the kubelet's next poll repeats it: still the kubelet's, still 3 */
	ctr_state(r, 16000, "collector-pods", NRO_K_CTR_RESTARTS, "", 3);
	end_of(r, 16000, "collector-pods");
	c = the_container(r);
	CHECK(c && c->has_state && c->u.ctr.restarts == 3 && !c->u.ctr.restarts_increased);
	/* the kubelet drops it: gone from its view, kept for the API's */
	end_of(r, 31000, "collector-pods");
	c = the_container(r);
	CHECK(c && !c->has_state && c->api.listed);
	/* the API drops it too: forgotten */
	end_of(r, 32000, "collector-apiserver");
	CHECK(the_container(r) == NULL);
	/* and the other way round: the API's snapshot leaves the kubelet's view alone */
	ctr_state(r, 40000, "collector-pods", NRO_K_CTR_STATE, "running", 0);
	end_of(r, 40000, "collector-pods");
	end_of(r, 41000, "collector-apiserver");
	c = the_container(r);
	CHECK(c && c->has_state && !c->api.listed);
	nro_rules_free(r);
}

int main(void)
{
	nro_enc_init(&enc, 0);
	RUN(a_counter_reset_is_an_increase_of_zero);
	RUN(undeclared_series_are_not_kept);
	RUN(histogram_quantile_from_bucket_increases);
	RUN(a_trend_predicts_by_least_squares);
	RUN(facts_per_object_are_capped_and_drops_counted);
	RUN(a_complete_snapshot_forgets_what_it_no_longer_lists);
	RUN(the_api_view_is_kept_apart_from_the_kubelets);
	nro_enc_free(&enc);
	return testing_done();
}
