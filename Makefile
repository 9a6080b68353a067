# node-runtime-observer
#   make          build every tool into bin/
#   make test     install what is missing, build, run every test (plain + ASan/UBSan)
#   make demo     install what is missing, build, run the pipeline against kubelet-replay
#   make deps     install the Debian packages the project needs
#   make san      build everything with AddressSanitizer + UBSan into build/san/
#   make bench    performance figures (ratios), never part of make test

CC      ?= cc
CSTD    := -std=c11 -D_DEFAULT_SOURCE -D_GNU_SOURCE
WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wvla -Wformat=2 \
           -Wno-format-truncation  # snprintf truncating a message is the intended bound
OPT     ?= -O2 -g
CFLAGS  += $(CSTD) $(WARN) $(OPT) -Ilib -MMD -MP
LDFLAGS += -Wl,--as-needed
LDLIBS  := -lcurl -lnng -lmicrohttpd -lgnutls -lpthread -lm

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

LIB_SRC  := $(filter-out %_test.c,$(wildcard lib/*.c))
LIB_OBJ  := $(LIB_SRC:%.c=$(OUT)/%.o)
LIB_A    := $(OUT)/libnro.a
TOOL_SRC := $(filter-out %_test.c,$(wildcard collectors/*.c core/*.c sinks/*.c))
TOOLS    := $(patsubst %.c,$(BINDIR)/%,$(notdir $(TOOL_SRC)))
TEST_SRC := $(wildcard lib/*_test.c collectors/*_test.c core/*_test.c sinks/*_test.c)
TESTS    := $(patsubst %.c,$(OUT)/test/%,$(notdir $(TEST_SRC)))

vpath %.c collectors core sinks lib

.PHONY: all deps test unit san demo run install bench clean
.SECONDARY:

all: $(TOOLS)

$(OUT)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(LIB_A): $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BINDIR)/%: $(OUT)/collectors/%.o $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
$(BINDIR)/%: $(OUT)/core/%.o $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
$(BINDIR)/%: $(OUT)/sinks/%.o $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(OUT)/test/%: $(OUT)/lib/%.o $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

unit: $(TESTS)

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
	@test -n "$(KUBELET)" || { echo "make run: set KUBELET=https://NODE:10250 (and TOKEN_FILE, CA_FILE or INSECURE=1)"; exit 100; }
	@KUBELET="$(KUBELET)" TOKEN_FILE="$(TOKEN_FILE)" CA_FILE="$(CA_FILE)" INSECURE="$(INSECURE)" sh deploy/demo/run.sh

PREFIX ?= /usr/local
install: all
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(TOOLS) $(DESTDIR)$(PREFIX)/bin/

bench: all
	@sh bench/run.sh

clean:
	rm -rf build bin

-include $(wildcard $(OUT)/*/*.d)
