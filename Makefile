# node-runtime-observer
#   make          build every tool into bin/
#   make test     install what is missing, build, run every test (plain + ASan/UBSan)
#   make demo     install what is missing, build, run the pipeline against kubelet-replay
#   make deps     install the Debian packages the project needs
#   make san      build everything with AddressSanitizer + UBSan into build/san/
#   make bench    performance figures (ratios), never part of make test
#   make install  the tools into $(PREFIX)/bin (kubelet-replay with INSTALL_REPLAY=1)
#   make fuzz     libFuzzer targets (clang) for FUZZ_SECONDS each (docs/fuzzing.md)

CC      ?= cc
CSTD    := -std=c11 -D_DEFAULT_SOURCE -D_GNU_SOURCE
WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wvla -Wformat=2 \
           -Wno-format-truncation  # snprintf truncating a message is the intended bound
OPT     ?= -O2 -g
CFLAGS  += $(CSTD) $(WARN) $(OPT) -Ilib -MMD -MP
LDFLAGS += -Wl,--as-needed
# link libraries per binary, as s6 does: a tool links only what it uses
# libnng built by make deps with one-thread pools (tests/deps/nng.sh) when
# there, else the system's (whose pools grow with the CPU count)
NNG_A      := $(wildcard build/nng/lib/libnng.a)
LIBS_NNG   := $(if $(NNG_A),$(NNG_A),-lnng) -lpthread
LIBS_CURL  := -lcurl
LIBS_HTTPD := -lmicrohttpd -lgnutls
LIBS_collectors    := $(LIBS_CURL) $(LIBS_NNG) -lm
LIBS_RING  := -lz # the ring's records are deflated (lib/wire/ring.c)
LIBS_analyzer      := $(LIBS_NNG) $(LIBS_RING) -lm
LIBS_nro-dump      := $(LIBS_NNG) $(LIBS_RING) -lm
LIBS_nro-alerts    := $(LIBS_NNG) $(LIBS_RING) -lm
LIBS_nro-fetch     := $(LIBS_CURL) -lm
LIBS_kubelet-replay := $(LIBS_HTTPD) -lm
LIBS_apiserver-replay := $(LIBS_HTTPD) -lm
LIBS_sinks         := $(LIBS_NNG) $(LIBS_RING) -lm # a sink without a line of its own
LIBS_sink-stdout   := $(LIBS_sinks)
LIBS_sink-otel     := $(LIBS_CURL) $(LIBS_NNG) -lprotobuf-c $(LIBS_RING) -lm
LIBS_sink-nats     := -lnats $(LIBS_NNG) $(LIBS_RING) -lm
LIBS_sink-prom     := $(LIBS_NNG) $(LIBS_HTTPD) $(LIBS_RING) -lm
LIBS_unit          := $(LIBS_CURL) $(LIBS_NNG) $(LIBS_HTTPD) -lm
LIBS_collector-runtime := $(LIBS_CURL) $(LIBS_NNG) -lprotobuf-c -lm
LIBS_collector-systemd := $(LIBS_CURL) $(LIBS_NNG) -lsystemd -lm

SAN ?= 0
ifeq ($(SAN),1)
  OUT     := build/san
  BINDIR  := build/san/bin
  CFLAGS  += -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
  LDFLAGS += -fsanitize=address,undefined
else
  OUT     := build/plain
  BINDIR  := bin
endif
# make fuzz's flavour (docs/fuzzing.md): the same build by clang with
# libFuzzer's coverage hooks and ASan/UBSan, into build/fuzz/. The warning
# bar is the gcc builds' (make test); here clang's own extra warnings (no
# -Wformat-truncation, {NULL} initializers, va_list formats) are not errors.
FUZZ_CC ?= clang
ifeq ($(FUZZ),1)
  OUT     := build/fuzz
  BINDIR  := build/fuzz/bin
  CC      := $(FUZZ_CC)
  CFLAGS  += -Wno-error -Wno-unknown-warning-option -Wno-format-nonliteral \
             -Wno-missing-field-initializers -fno-omit-frame-pointer \
             -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all
  LDFLAGS += -fsanitize=address,undefined
endif

# --version prints both; version.h is rewritten only when they change
NRO_VERSION := 0.1.0
GIT_REV  := $(shell git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)$(shell git diff --quiet HEAD -- 2>/dev/null || echo -dirty)

LAYERS   := base wire parse net render rules run
LIB_SRC  := $(filter-out %_test.c,$(wildcard $(LAYERS:%=lib/%/*.c)))
LIB_OBJ  := $(LIB_SRC:%.c=$(OUT)/%.o)
LIB_A    := $(OUT)/libnro.a
# OTLP's protobuf code, generated from lib/render/otlp.proto at build time (never committed)
OTLP_PB  := $(OUT)/gen/otlp.pb-c
LIB_OBJ  += $(OTLP_PB).o
CFLAGS   += -I$(OUT)/gen
LIBS_unit += -lprotobuf-c -lz
TOOL_SRC := $(filter-out %_test.c,$(wildcard collectors/*.c core/*.c sinks/*.c))
TOOLS    := $(patsubst %.c,$(BINDIR)/%,$(notdir $(TOOL_SRC)))
TEST_SRC := $(wildcard $(LAYERS:%=lib/%/*_test.c) collectors/*_test.c core/*_test.c sinks/*_test.c)
TESTS    := $(patsubst %.c,$(OUT)/test/%,$(notdir $(TEST_SRC)))

vpath %.c collectors core sinks

.PHONY: all deps test unit san demo run install bench clean FORCE
.SECONDARY:

all: $(TOOLS)
# svc/*/run start their tool through this one helper (non-root, capabilities)
all: $(BINDIR)/nro-run-tool
$(BINDIR)/nro-run-tool: svc/.lib/run-tool
	@mkdir -p $(dir $@)
	install -m 0755 $< $@

$(OUT)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(OUT)/version.h: FORCE
	@mkdir -p $(dir $@)
	@printf '#define NRO_VERSION "%s"\n#define NRO_GIT_REV "%s"\n' '$(NRO_VERSION)' '$(GIT_REV)' >$@.tmp
	@if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv $@.tmp $@; fi
$(OUT)/lib/run/tool.o: $(OUT)/version.h
$(OUT)/lib/run/tool.o: CFLAGS += -include $(OUT)/version.h
FORCE:

$(OTLP_PB).c: lib/render/otlp.proto
	@mkdir -p $(dir $@)
	protoc-c --proto_path=lib/render --c_out=$(dir $@) $<
$(OTLP_PB).h: $(OTLP_PB).c ;
$(OTLP_PB).o: $(OTLP_PB).c $(OTLP_PB).h
	$(CC) $(CFLAGS) -c -o $@ $<
$(OUT)/lib/render/otlp.o $(OUT)/lib/render/otlp_test.o: $(OTLP_PB).h
# sink-otel's service.version is the version --version prints
$(OUT)/sinks/sink-otel.o: $(OUT)/version.h
$(OUT)/sinks/sink-otel.o: CFLAGS += -include $(OUT)/version.h

$(LIB_A): $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BINDIR)/%: $(OUT)/collectors/%.o $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(or $(LIBS_$*),$(LIBS_collectors))
$(BINDIR)/%: $(OUT)/core/%.o $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS_$*)
$(BINDIR)/%: $(OUT)/sinks/%.o $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(or $(LIBS_$*),$(LIBS_sinks))

# a unit test links its own object (from whichever lib/ layer holds it) and the library
define test_rule
$$(OUT)/test/$(basename $(notdir $(1))): $$(OUT)/$(1:%.c=%.o) $$(LIB_A)
	@mkdir -p $$(dir $$@)
	$$(CC) $$(LDFLAGS) -o $$@ $$^ $$(LIBS_unit)
endef
$(foreach t,$(TEST_SRC),$(eval $(call test_rule,$(t))))

unit: $(TESTS)

# collector-runtime's CRI messages: C generated by protoc-c from the .proto
# subset at build time, into $(OUT)/gen (never committed)
CRI_GEN := $(OUT)/gen/net/cri.pb-c
$(CRI_GEN).c $(CRI_GEN).h &: lib/net/cri.proto
	@mkdir -p $(OUT)/gen
	protoc-c --proto_path=lib --c_out=$(OUT)/gen net/cri.proto
$(CRI_GEN).o: $(CRI_GEN).c
	$(CC) $(CSTD) $(OPT) $(filter -fsanitize% -fno-%,$(CFLAGS)) -I$(OUT)/gen -w -c -o $@ $<
$(OUT)/collectors/collector-runtime.o: CFLAGS += -I$(OUT)/gen
$(OUT)/collectors/collector-runtime.o: $(CRI_GEN).h
$(BINDIR)/collector-runtime: $(CRI_GEN).o

# Everything built with the sanitizers, into build/san/ (tools and unit tests).
san:
	$(MAKE) SAN=1 all unit

deps:
	@sh tests/deps.sh

test: deps
	$(MAKE) all unit
	$(MAKE) SAN=1 all unit
	@sh tests/run.sh

demo: deps all
	@sh deploy/demo/run.sh

# the pipeline against a real kubelet: make run KUBELET=https://NODE:10250 TOKEN_FILE=F CA_FILE=F
run: all
	@test -n "$(KUBELET)" || { echo "make run: set KUBELET=https://NODE:10250 (and TOKEN_FILE, CA_FILE or INSECURE=1)" >&2; exit 100; }
	@KUBELET="$(KUBELET)" TOKEN_FILE="$(TOKEN_FILE)" CA_FILE="$(CA_FILE)" INSECURE="$(INSECURE)" sh deploy/demo/run.sh

# the test servers kubelet-replay and apiserver-replay only when asked: make install INSTALL_REPLAY=1
PREFIX ?= /usr/local
INSTALL_REPLAY ?= 0
INSTALL_TOOLS := $(if $(filter 1,$(INSTALL_REPLAY)),$(TOOLS),$(filter-out %/kubelet-replay %/apiserver-replay,$(TOOLS)))
install: all
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(INSTALL_TOOLS) $(DESTDIR)$(PREFIX)/bin/
	install -m 0755 svc/.lib/run-tool $(DESTDIR)$(PREFIX)/bin/nro-run-tool
	install -d $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 0644 $(wildcard man/*.1) $(DESTDIR)$(PREFIX)/share/man/man1/

CURL_FLAVOURS := openssl gnutls nss
bench: all $(OUT)/bench/fakecpus.so $(CURL_FLAVOURS:%=$(OUT)/bench/curl_tls-%)
	@sh bench/run.sh

# the container image from Debian packages (deploy/image/build.pkgs), and its
# test as PID 1 in new namespaces; root needed, not part of make test
.PHONY: image image-test
image: all
	sh deploy/image/build.sh
image-test: all
	sh deploy/image/test.sh
# one poller per libcurl TLS flavour Debian ships (runtime libraries only)
curl_lib_openssl := -lcurl
curl_lib_gnutls  := -l:libcurl-gnutls.so.4
curl_lib_nss     := -l:libcurl-nss.so.4
$(OUT)/bench/curl_tls-%: bench/curl_tls.c
	@mkdir -p $(@D)
	$(CC) $(CSTD) -O2 -Wall -Wextra -Werror -o $@ $< $(curl_lib_$*)

$(OUT)/bench/fakecpus.so: bench/fakecpus.c
	@mkdir -p $(@D)
	$(CC) -O2 -Wall -Wextra -Werror -shared -fPIC -o $@ $< -ldl

clean:
	rm -rf build bin

# ---- fuzzing (docs/fuzzing.md) --------------------------------------------
# Every fuzz/fuzz_<target>.c is built twice: as a replay binary
# $(OUT)/fuzz/replay-<target> (this compiler and flags, fuzz/replay.c's main;
# part of `unit`, run by tests/fuzz_replay_test.sh over the saved corpora
# and reproducers) and, by `make fuzz`, as a libFuzzer binary in build/fuzz/.
FUZZ_ALL        := $(patsubst fuzz/fuzz_%.c,%,$(wildcard fuzz/fuzz_*.c))
FUZZ_COLLECTORS := pods summary configz spec healthz
fuzz_objs = $(1)/fuzz/fuzz_$(2).o $(1)/fuzz/fuzz.o \
	$(if $(filter $(FUZZ_COLLECTORS),$(2)),$(1)/fuzz/collector.o)
LIBS_fuzz       := $(LIBS_NNG) $(LIBS_RING) -lm
FUZZ_REPLAY     := $(FUZZ_ALL:%=$(OUT)/fuzz/replay-%)

define fuzz_replay_rule
$$(OUT)/fuzz/replay-$(1): $$(call fuzz_objs,$$(OUT),$(1)) $$(OUT)/fuzz/replay.o $$(LIB_A)
	$$(CC) $$(LDFLAGS) -o $$@ $$^ $$(LIBS_fuzz)
endef
$(foreach t,$(FUZZ_ALL),$(eval $(call fuzz_replay_rule,$(t))))
unit: $(FUZZ_REPLAY)

# libFuzzer binaries, in the FUZZ=1 flavour: build/fuzz/fuzz_<target>
define fuzz_bin_rule
$$(OUT)/fuzz_$(1): $$(call fuzz_objs,$$(OUT),$(1)) $$(LIB_A)
	$$(CC) $$(LDFLAGS) -fsanitize=fuzzer -o $$@ $$^ $$(LIBS_fuzz)
endef
ifeq ($(FUZZ),1)
$(foreach t,$(FUZZ_ALL),$(eval $(call fuzz_bin_rule,$(t))))
endif

FUZZ_TARGETS ?= $(FUZZ_ALL)
FUZZ_SECONDS ?= 60
FUZZ_MERGE   ?= 0
.PHONY: fuzz fuzz-build
fuzz-build:
	$(MAKE) FUZZ=1 $(FUZZ_TARGETS:%=build/fuzz/fuzz_%)
fuzz: deps fuzz-build
	@FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_MERGE=$(FUZZ_MERGE) sh fuzz/run.sh $(FUZZ_TARGETS)

-include $(wildcard $(OUT)/*/*.d $(OUT)/lib/*/*.d)
