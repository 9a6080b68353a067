/*
 * collector-systemd: the node's services as systemd sees them, over D-Bus
 * with sd-bus. For each unit of --units it publishes one state (object
 * Service <unit>, key systemd.unit, lib/wire/names_services.h): value
 * ActiveState, num NRestarts, since ActiveEnterTimestamp, attrs SubState,
 * LoadState, Result, ExecMainCode/Status and healthy (active/running).
 *
 * Pushed, not polled: it calls Manager.Subscribe and matches each unit's
 * PropertiesChanged, so a unit that fails is published as soon as systemd
 * says so. Every --interval (default 60s) a resync republishes every unit
 * (and sends the health record), catching anything missed. A unit that does
 * not exist is said once and skipped until it appears. If the bus goes away
 * the collector reconnects with backoff and resyncs; if systemd itself
 * re-appears on the bus (daemon-reexec), it resyncs too. SIGHUP resyncs.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>

#include "base/log.h"
#include "run/collector.h"
#include "run/signals.h"
#include "wire/names_services.h"

#define SYSTEMD "org.freedesktop.systemd1"
#define MANAGER_PATH "/org/freedesktop/systemd1"
#define MANAGER_IFACE "org.freedesktop.systemd1.Manager"
#define UNIT_IFACE "org.freedesktop.systemd1.Unit"
#define SERVICE_IFACE "org.freedesktop.systemd1.Service"
#define PROPS_IFACE "org.freedesktop.DBus.Properties"
#define DEFAULT_UNITS "kubelet.service,containerd.service,crio.service,docker.service"
#define UNITS_MAX 32
#define RETRY_MIN_MS 250
#define RETRY_MAX_MS 8000

struct props {
	char active[32], sub[32], load[32], result[32];
	uint32_t restarts;
	int32_t exit_code, exit_status;
	uint64_t active_enter_us;
};

struct unit {
	char name[128];
	char path[256]; /* object path on this connection; "" until resolved */
	int watched;    /* its PropertiesChanged match is on this connection */
	int absent;     /* not found: said once, skipped until it appears */
	int dirty;      /* a change signal arrived */
	int published;  /* last holds what was published */
	struct props last;
};

struct systemd {
	const char *bus_opt;   /* --bus; NULL = the system bus */
	const char *units_opt; /* --units */
	int64_t timeout_ms;
	sd_bus *bus;
	struct unit units[UNITS_MAX];
	size_t nunits;
	int resync_now;        /* systemd (re)appeared on the bus */
	int64_t retry_ms, next_retry_ms;
};

/* The address, for messages: sd_bus_open_system() reads the variable too. */
static const char *bus_name(const struct systemd *s)
{
	if (s->bus_opt)
		return s->bus_opt;
	const char *env = getenv("DBUS_SYSTEM_BUS_ADDRESS");
	return env && *env ? env : "unix:path=/run/dbus/system_bus_socket";
}

/* ---- --units ------------------------------------------------------------- */

static int unit_name_ok(const char *p, size_t n)
{
	if (n == 0)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char ch = p[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		      ch == '-' || ch == '_' || ch == '.' || ch == '@' || ch == ':' || ch == '\\'))
			return 0;
	}
	return 1;
}

/* "kubelet,containerd.service" into s->units; a name without a type is a
 * .service. Exits 100 naming a bad entry. */
static void parse_units(struct systemd *s, const char *list)
{
	const char *p = list;
	while (*p) {
		const char *e = strchr(p, ',');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		const char *suffix = memchr(p, '.', n) ? "" : ".service";
		if (!unit_name_ok(p, n) || n + strlen(suffix) >= sizeof s->units[0].name)
			nro_die(NRO_EXIT_USAGE, "--units: not a unit name: \"%.*s\"", (int)n, p);
		if (s->nunits == UNITS_MAX)
			nro_die(NRO_EXIT_USAGE, "--units: more than %d units", UNITS_MAX);
		snprintf(s->units[s->nunits++].name, sizeof s->units[0].name, "%.*s%s", (int)n, p, suffix);
		p += n + (e ? 1 : 0);
	}
	if (s->nunits == 0)
		nro_die(NRO_EXIT_USAGE, "--units: no unit named");
}

/* ---- the bus ------------------------------------------------------------- */

static int on_props_changed(sd_bus_message *m, void *ud, sd_bus_error *e)
{
	(void)e;
	struct systemd *s = ud;
	const char *path = sd_bus_message_get_path(m);
	for (size_t i = 0; path && i < s->nunits; i++)
		if (strcmp(s->units[i].path, path) == 0)
			s->units[i].dirty = 1;
	return 0;
}

static int on_owner_changed(sd_bus_message *m, void *ud, sd_bus_error *e)
{
	(void)e;
	struct systemd *s = ud;
	const char *name, *old, *new_owner;
	if (sd_bus_message_read(m, "sss", &name, &old, &new_owner) < 0)
		return 0;
	if (new_owner[0]) {
		nro_info("%s appeared on the bus; resyncing", SYSTEMD);
		s->resync_now = 1;
	} else {
		nro_warn("%s left the bus", SYSTEMD);
	}
	return 0;
}

static void bus_drop(struct systemd *s)
{
	s->bus = sd_bus_flush_close_unref(s->bus);
	for (size_t i = 0; i < s->nunits; i++) {
		s->units[i].path[0] = '\0';
		s->units[i].watched = 0;
		s->units[i].dirty = 0;
	}
}

static int bus_lost(struct systemd *s)
{
	return !s->bus || sd_bus_is_open(s->bus) <= 0;
}

static int bus_open(struct systemd *s, sd_bus **b)
{
	if (!s->bus_opt)
		return sd_bus_open_system(b);
	int r = sd_bus_new(b);
	if (r >= 0)
		r = sd_bus_set_address(*b, s->bus_opt);
	if (r >= 0)
		r = sd_bus_set_bus_client(*b, 1);
	if (r >= 0)
		r = sd_bus_start(*b);
	return r;
}

/* Connects and watches systemd's name. Returns 0, or -1 with res filled. */
static int bus_connect(struct systemd *s, struct nro_fetch *res)
{
	sd_bus *b = NULL;
	int r = bus_open(s, &b);
	if (r >= 0)
		r = sd_bus_set_method_call_timeout(b, (uint64_t)s->timeout_ms * 1000);
	if (r >= 0) /* the first call: completes the connection and Hello */
		r = sd_bus_add_match(b, NULL,
				     "type='signal',sender='org.freedesktop.DBus',"
				     "interface='org.freedesktop.DBus',member='NameOwnerChanged',"
				     "arg0='" SYSTEMD "'",
				     on_owner_changed, s);
	if (r < 0) {
		sd_bus_flush_close_unref(b);
		res->err = r == -ETIMEDOUT ? NRO_ERR_TIMEOUT : NRO_ERR_CONNECT;
		snprintf(res->message, sizeof res->message, "cannot connect to %s: %s", bus_name(s),
			 strerror(-r));
		return -1;
	}
	s->bus = b;
	s->retry_ms = RETRY_MIN_MS;
	/* systemd sends unit signals only to subscribers; a stand-in may not care */
	sd_bus_error e = SD_BUS_ERROR_NULL;
	if (sd_bus_call_method(b, SYSTEMD, MANAGER_PATH, MANAGER_IFACE, "Subscribe", &e, NULL, "") < 0)
		nro_debug("Subscribe: %s", e.message ? e.message : "failed");
	sd_bus_error_free(&e);
	return 0;
}

/* ---- reading a unit ------------------------------------------------------- */

static const struct field {
	const char *name;
	char type; /* D-Bus type of the value */
	size_t off, len;
} fields[] = {
	{"ActiveState", 's', offsetof(struct props, active), sizeof ((struct props *)0)->active},
	{"SubState", 's', offsetof(struct props, sub), sizeof ((struct props *)0)->sub},
	{"LoadState", 's', offsetof(struct props, load), sizeof ((struct props *)0)->load},
	{"Result", 's', offsetof(struct props, result), sizeof ((struct props *)0)->result},
	{"NRestarts", 'u', offsetof(struct props, restarts), 4},
	{"ExecMainCode", 'i', offsetof(struct props, exit_code), 4},
	{"ExecMainStatus", 'i', offsetof(struct props, exit_status), 4},
	{"ActiveEnterTimestamp", 't', offsetof(struct props, active_enter_us), 8},
};

/* Reads one variant into p if its name and type are ours, else skips it. */
static int read_prop(sd_bus_message *m, const char *name, struct props *p)
{
	const struct field *f = NULL;
	for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
		if (strcmp(fields[i].name, name) == 0)
			f = &fields[i];
	char t;
	const char *contents;
	int r = sd_bus_message_peek_type(m, &t, &contents);
	if (r < 0)
		return r;
	if (!f || t != SD_BUS_TYPE_VARIANT || contents[0] != f->type || contents[1])
		return sd_bus_message_skip(m, "v");
	if ((r = sd_bus_message_enter_container(m, SD_BUS_TYPE_VARIANT, contents)) < 0)
		return r;
	char *dst = (char *)p + f->off;
	if (f->type == 's') {
		const char *v;
		if ((r = sd_bus_message_read_basic(m, 's', &v)) >= 0)
			snprintf(dst, f->len, "%s", v);
	} else {
		r = sd_bus_message_read_basic(m, f->type, dst);
	}
	if (r < 0)
		return r;
	return sd_bus_message_exit_container(m);
}

/* An a{sv} from Properties.GetAll into p. */
static int read_dict(sd_bus_message *m, struct props *p)
{
	int r = sd_bus_message_enter_container(m, SD_BUS_TYPE_ARRAY, "{sv}");
	if (r < 0)
		return r;
	while ((r = sd_bus_message_enter_container(m, SD_BUS_TYPE_DICT_ENTRY, "sv")) > 0) {
		const char *name;
		if ((r = sd_bus_message_read_basic(m, 's', &name)) < 0 || (r = read_prop(m, name, p)) < 0 ||
		    (r = sd_bus_message_exit_container(m)) < 0)
			return r;
	}
	if (r < 0)
		return r;
	return sd_bus_message_exit_container(m);
}

static void call_failed(struct nro_fetch *res, const char *what, const struct unit *u, int r,
			const sd_bus_error *e)
{
	if (res->message[0])
		return; /* the first failure of a poll names it */
	res->err = r == -ETIMEDOUT ? NRO_ERR_TIMEOUT : NRO_ERR_OTHER;
	snprintf(res->message, sizeof res->message, "%s %s: %s", what, u->name,
		 e && e->message ? e->message : strerror(-r));
}

static int get_all(struct systemd *s, struct unit *u, const char *iface, struct props *p,
		   struct nro_fetch *res)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	sd_bus_message *reply = NULL;
	int r = sd_bus_call_method(s->bus, SYSTEMD, u->path, PROPS_IFACE, "GetAll", &e, &reply, "s",
				   iface);
	if (r >= 0 && (r = read_dict(reply, p)) < 0)
		sd_bus_error_set_errno(&e, r);
	/* a unit that is not a service has no Service interface: not an error */
	if (r < 0 && strcmp(iface, SERVICE_IFACE) == 0 &&
	    sd_bus_error_has_name(&e, SD_BUS_ERROR_UNKNOWN_INTERFACE))
		r = 0;
	if (r < 0)
		call_failed(res, "GetAll", u, r, &e);
	sd_bus_message_unref(reply);
	sd_bus_error_free(&e);
	return r < 0 ? -1 : 0;
}

/* The unit's object path: GetUnit, or LoadUnit for a unit not loaded. */
static int resolve(struct systemd *s, struct unit *u, struct nro_fetch *res)
{
	if (u->path[0])
		return 0;
	sd_bus_error e = SD_BUS_ERROR_NULL;
	sd_bus_message *reply = NULL;
	const char *path;
	int r = sd_bus_call_method(s->bus, SYSTEMD, MANAGER_PATH, MANAGER_IFACE, "GetUnit", &e, &reply,
				   "s", u->name);
	if (r < 0 && sd_bus_error_has_name(&e, "org.freedesktop.systemd1.NoSuchUnit")) {
		sd_bus_error_free(&e);
		r = sd_bus_call_method(s->bus, SYSTEMD, MANAGER_PATH, MANAGER_IFACE, "LoadUnit", &e,
				       &reply, "s", u->name);
	}
	if (r >= 0 && (r = sd_bus_message_read(reply, "o", &path)) >= 0)
		snprintf(u->path, sizeof u->path, "%s", path);
	if (r < 0)
		call_failed(res, "GetUnit", u, r, &e);
	sd_bus_message_unref(reply);
	sd_bus_error_free(&e);
	return r < 0 ? -1 : 0;
}

static int watch(struct systemd *s, struct unit *u, struct nro_fetch *res)
{
	if (u->watched)
		return 0;
	int r = sd_bus_match_signal(s->bus, NULL, SYSTEMD, u->path, PROPS_IFACE, "PropertiesChanged",
				    on_props_changed, s);
	if (r < 0) {
		call_failed(res, "AddMatch", u, r, NULL);
		return -1;
	}
	u->watched = 1;
	return 0;
}

/* ---- publishing ----------------------------------------------------------- */

static void publish(struct nro_collector *c, const struct unit *u)
{
	const struct props *p = &u->last;
	char restarts[16], code[16], status[16];
	snprintf(restarts, sizeof restarts, "%u", p->restarts);
	snprintf(code, sizeof code, "%d", p->exit_code);
	snprintf(status, sizeof status, "%d", p->exit_status);
	int healthy = strcmp(p->active, "active") == 0 && strcmp(p->sub, "running") == 0;
	struct nro_attr a[] = {
		{nro_s(NRO_SYSTEMD_ATTR_SUB_STATE), nro_s(p->sub)},
		{nro_s(NRO_SYSTEMD_ATTR_LOAD_STATE), nro_s(p->load)},
		{nro_s(NRO_SYSTEMD_ATTR_RESULT), nro_s(p->result)},
		{nro_s(NRO_SYSTEMD_ATTR_RESTARTS), nro_s(restarts)},
		{nro_s(NRO_SYSTEMD_ATTR_EXIT_CODE), nro_s(code)},
		{nro_s(NRO_SYSTEMD_ATTR_EXIT_STATUS), nro_s(status)},
		{nro_s(NRO_SYSTEMD_ATTR_HEALTHY), nro_s(healthy ? "true" : "false")},
	};
	struct nro_state st = {
		{NRO_OBJ_SERVICE, {"", 0}, {"", 0}, {"", 0}, nro_s(u->name)},
		nro_s(NRO_SYSTEMD_UNIT),
		nro_s(p->active),
		p->restarts,
		(int64_t)(p->active_enter_us / 1000),
		sizeof a / sizeof a[0],
		a,
	};
	nro_emit_state(c, &st);
}

/* Says once that a unit does not exist, and once that it appeared. */
static int skip_absent(struct unit *u, const struct props *p)
{
	int absent = strcmp(p->load, "not-found") == 0;
	if (absent && !u->absent)
		nro_info("unit %s not found; skipped until it appears", u->name);
	else if (!absent && u->absent)
		nro_info("unit %s appeared", u->name);
	u->absent = absent;
	if (absent) {
		u->path[0] = '\0'; /* systemd drops a not-found unit's object */
		u->watched = 0;
		u->published = 0;
	}
	return absent;
}

/* Reads a unit and publishes it if force or if it changed. Returns 0, or
 * -1 with the first failure of the poll in res. */
static int refresh(struct nro_collector *c, struct systemd *s, struct unit *u, int force,
		   struct nro_fetch *res)
{
	struct props p;
	memset(&p, 0, sizeof p);
	if (resolve(s, u, res) != 0 || get_all(s, u, UNIT_IFACE, &p, res) != 0)
		return -1;
	if (!p.active[0]) { /* a value that is not a string was skipped: publish nothing */
		if (!res->message[0]) {
			res->err = NRO_ERR_PARSE;
			snprintf(res->message, sizeof res->message,
				 "GetAll %s: no ActiveState string among its properties", u->name);
		}
		return -1;
	}
	if (skip_absent(u, &p))
		return 0;
	if (watch(s, u, res) != 0 || get_all(s, u, SERVICE_IFACE, &p, res) != 0)
		return -1;
	if (!force && u->published && memcmp(&p, &u->last, sizeof p) == 0)
		return 0;
	memcpy(&u->last, &p, sizeof p); /* padding too: memcmp compares it */
	u->published = 1;
	publish(c, u);
	return 0;
}

/* The resync: connect if need be, then read and publish every unit. */
static int poll_resync(struct nro_collector *c, void *ctx, struct nro_fetch *res)
{
	struct systemd *s = ctx;
	s->resync_now = 0;
	if (!s->bus && bus_connect(s, res) != 0)
		return -1;
	int rc = 0;
	for (size_t i = 0; i < s->nunits && !bus_lost(s); i++)
		if (refresh(c, s, &s->units[i], 1, res) != 0)
			rc = -1;
	if (bus_lost(s)) {
		bus_drop(s);
		if (!res->message[0] || rc == 0) {
			res->err = NRO_ERR_CONNECT;
			snprintf(res->message, sizeof res->message, "lost %s", bus_name(s));
		}
		rc = -1;
	}
	return rc;
}

/* ---- the loop ------------------------------------------------------------- */

/* Publishes the units whose signals arrived since the last look. */
static void push_changes(struct nro_collector *c, struct systemd *s)
{
	for (size_t i = 0; i < s->nunits && !bus_lost(s); i++) {
		struct unit *u = &s->units[i];
		if (!u->dirty)
			continue;
		u->dirty = 0;
		struct nro_fetch res;
		memset(&res, 0, sizeof res);
		c->poll_ts_ms = nro_wall_ms();
		if (refresh(c, s, u, 0, &res) != 0)
			nro_debug("%s (the next resync retries)", res.message);
	}
	nro_emit_flush(c);
}

/* Handles what the bus delivered; returns 0, or -1 when the bus is gone. */
static int pump(struct nro_collector *c, struct systemd *s)
{
	for (;;) {
		int r;
		while ((r = sd_bus_process(s->bus, NULL)) > 0)
			;
		if (r < 0 || bus_lost(s))
			return -1;
		int dirty = 0;
		for (size_t i = 0; i < s->nunits; i++)
			dirty |= s->units[i].dirty;
		if (s->resync_now)
			nro_collector_poll(c, poll_resync, s);
		else if (dirty)
			push_changes(c, s);
		else
			return 0;
		if (bus_lost(s))
			return -1;
	}
}

static void lost(struct nro_collector *c, struct systemd *s)
{
	nro_warn("lost %s; reconnecting", bus_name(s));
	bus_drop(s);
	s->retry_ms = RETRY_MIN_MS;
	s->next_retry_ms = nro_mono_ms() + s->retry_ms;
	nro_collector_poll(c, poll_resync, s); /* reports it, or is back already */
}

/* A quiet reconnect attempt between resyncs; a success resyncs at once. */
static void retry(struct nro_collector *c, struct systemd *s)
{
	struct nro_fetch res;
	memset(&res, 0, sizeof res);
	if (bus_connect(s, &res) == 0) {
		nro_info("reconnected to %s", bus_name(s));
		nro_collector_poll(c, poll_resync, s);
		return;
	}
	nro_debug("%s", res.message);
	s->retry_ms = s->retry_ms * 2 > RETRY_MAX_MS ? RETRY_MAX_MS : s->retry_ms * 2;
	s->next_retry_ms = nro_mono_ms() + s->retry_ms;
}

static void run(struct nro_collector *c, struct systemd *s)
{
	nro_ready(&c->t);
	struct nro_sched sched;
	nro_sched_init(&sched, c->t.interval_ms, nro_mono_ms());
	nro_collector_poll(c, poll_resync, s);
	int64_t next = nro_sched_advance(&sched, nro_mono_ms());
	if (!s->bus)
		s->next_retry_ms = nro_mono_ms() + s->retry_ms;
	for (;;) {
		if (s->bus && pump(c, s) != 0)
			lost(c, s);
		int64_t deadline = s->bus || s->next_retry_ms > next ? next : s->next_retry_ms;
		int w = nro_wait(&c->t, deadline, s->bus ? sd_bus_get_fd(s->bus) : -1);
		if (w == NRO_SIG_TERM)
			break;
		int64_t now = nro_mono_ms();
		if (w == NRO_SIG_HUP || now >= next) {
			if (now >= next)
				next = nro_sched_advance(&sched, now);
			nro_collector_poll(c, poll_resync, s);
		} else if (!s->bus && now >= s->next_retry_ms) {
			retry(c, s);
		}
	}
}

int main(int argc, char **argv)
{
	static struct systemd s = {.units_opt = DEFAULT_UNITS, .timeout_ms = 5000,
				   .retry_ms = RETRY_MIN_MS};
	const struct nro_optdef opts[] = {
		{"bus", 0, "NRO_DBUS_ADDRESS", NRO_OPT_STR, &s.bus_opt, NULL, "ADDRESS",
		 "D-Bus address (default: the system bus, unix:path=/run/dbus/system_bus_socket)"},
		{"units", 0, "NRO_UNITS", NRO_OPT_STR, &s.units_opt, NULL, "LIST",
		 "units to watch, comma-separated (default " DEFAULT_UNITS ")"},
		{"timeout", 0, "NRO_TIMEOUT", NRO_OPT_DUR, &s.timeout_ms, NULL, "D",
		 "per-call timeout (default 5s)"},
		{0},
	};
	struct nro_collector c;
	nro_collector_init_local(
		&c, "collector-systemd",
		"Watch systemd units over D-Bus (sd-bus) and publish one state per unit:\n"
		"systemd.unit = ActiveState (num NRestarts; attrs sub_state, load_state,\n"
		"result, exec_main_code, exec_main_status, healthy). Changes are pushed by\n"
		"PropertiesChanged as they happen; --interval (default 60s) is the resync.\n"
		"Units that do not exist are said once and skipped. Reconnects when the bus\n"
		"goes away; SIGHUP resyncs.\n"
		"Socket: the system bus, /run/dbus/system_bus_socket (in a pod, mount the\n"
		"host's). Needs connect permission on it and the bus's default policy\n"
		"(reading properties, Subscribe), no more: it never changes a unit.",
		"systemd", 60000, opts, argc, argv);
	if (s.timeout_ms <= 0)
		nro_die(NRO_EXIT_USAGE, "--timeout must be above 0");
	parse_units(&s, s.units_opt);
	int rc = 0;
	if (c.t.once)
		rc = nro_collector_run(&c, poll_resync, &s);
	else {
		run(&c, &s);
		nro_collector_close(&c);
	}
	bus_drop(&s);
	return rc;
}
