# Pigeon: SMS-to-microblog gateway.
#
#   make            build pigeond, pigeon-modem, pigeon-modemsim
#   make run        embedded PostgreSQL + two simulated modems + pigeond
#   make test       unit and integration tests, built with ASan+UBSan
#   make bench      benchmarks
#   make install    PREFIX=/usr/local DESTDIR=
#   make clean

PREFIX  ?= /usr/local
DESTDIR ?=
CC      ?= cc
PKG_CONFIG ?= pkg-config

PKGS      = gammu libpq libevent jansson
PKGS_TEST = check

BUILD   ?= build
ifeq ($(SAN),1)
B        := $(BUILD)/san
OPTFLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer \
            -fno-sanitize-recover=undefined
else
B        := $(BUILD)
OPTFLAGS ?= -O2 -g
endif

WARNFLAGS = -Wall -Wextra -Werror -Wshadow -Wpointer-arith -Wstrict-prototypes \
            -Wmissing-prototypes -Wno-unused-parameter
CPPFLAGS += -D_GNU_SOURCE -Igateway -Imodem \
            -DPIGEON_LIBEXECDIR='"$(PREFIX)/libexec/pigeon"' \
            -DPIGEON_SYSCONFDIR='"/etc/pigeon"'
CFLAGS   += -std=c11 $(OPTFLAGS) $(WARNFLAGS) -MMD -MP \
            $(shell $(PKG_CONFIG) --cflags $(PKGS))
LDLIBS   += $(shell $(PKG_CONFIG) --libs $(PKGS) libevent_extra)
LDFLAGS  += $(OPTFLAGS)
TEST_CFLAGS = $(shell $(PKG_CONFIG) --cflags $(PKGS_TEST))
TEST_LIBS   = $(shell $(PKG_CONFIG) --libs $(PKGS_TEST))

# Code shared by pigeond and the modem processes.
COMMON_SRCS = \
	gateway/log.c \
	modem/proto.c

PIGEOND_SRCS = \
	gateway/main.c \
	gateway/config.c \
	gateway/migrate.c \
	gateway/number.c \
	gateway/parse.c \
	gateway/store.c \
	gateway/supervisor.c \
	gateway/inbound.c \
	gateway/commands.c \
	gateway/scheduler.c \
	gateway/http.c

MODEM_SRCS = \
	modem/worker.c \
	modem/gsm.c \
	modem/outcome.c \
	modem/seen.c \
	modem/utf8.c

MODEMSIM_SRCS = \
	modem/sim/main.c \
	modem/sim/at.c \
	modem/sim/atcmd.c \
	modem/sim/ctl.c \
	modem/sim/client.c \
	modem/sim/pdu.c \
	modem/sim/store.c \
	modem/sim/sentlog.c \
	modem/sim/util.c

UNIT_TESTS = \
	tests/unit/test_config \
	tests/unit/test_number \
	tests/unit/test_parse \
	tests/unit/test_proto

# Each unit test links only the modules it tests.
test_config_OBJS = gateway/config.o gateway/log.o
test_number_OBJS = gateway/number.o
test_parse_OBJS  = gateway/parse.o
test_proto_OBJS  = modem/proto.o

INTEGRATION_TESTS = \
	tests/integration/test_modemsim \
	tests/integration/test_worker \
	tests/integration/test_skeleton \
	tests/integration/test_crash \
	tests/integration/test_startup

HARNESS_SRCS = \
	tests/integration/harness.c \
	tests/integration/h_gateway.c

obj = $(addprefix $(B)/,$(1:.c=.o))

PROGRAMS = $(B)/pigeond $(B)/pigeon-modem $(B)/pigeon-modemsim

all: $(PROGRAMS)

# pigeond carries its SQL and reply catalogs (scripts/embed).
EMBED_FILES = \
	$(sort $(wildcard db/migrations/*.sql)) \
	$(sort $(wildcard db/functions/*.sql)) \
	$(sort $(wildcard gateway/catalog/*.json))

$(B)/gen/embedded.c: $(EMBED_FILES) scripts/embed
	@mkdir -p $(dir $@)
	scripts/embed $@ $(EMBED_FILES)

$(B)/gen/embedded.o: $(B)/gen/embedded.c
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(B)/pigeond: $(call obj,$(PIGEOND_SRCS) $(COMMON_SRCS)) $(B)/gen/embedded.o
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(B)/pigeon-modem: $(call obj,$(MODEM_SRCS) $(COMMON_SRCS))
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(B)/pigeon-modemsim: $(call obj,$(MODEMSIM_SRCS) $(COMMON_SRCS))
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lutil

$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(if $(findstring tests/,$<),$(TEST_CFLAGS) -Itests/integration) -c -o $@ $<

$(B)/tests/unit/%: $(B)/tests/unit/%.o
	$(CC) $(LDFLAGS) -o $@ $^ $(TEST_LIBS) $(LDLIBS)

$(foreach t,$(UNIT_TESTS),$(eval $(B)/$(t): $(addprefix $(B)/,$($(notdir $(t))_OBJS))))

$(B)/tests/integration/%: $(B)/tests/integration/%.o $(call obj,$(HARNESS_SRCS))
	$(CC) $(LDFLAGS) -o $@ $^ $(TEST_LIBS) $(LDLIBS)

test-bins: $(PROGRAMS) $(addprefix $(B)/,$(UNIT_TESTS) $(INTEGRATION_TESTS))

# The test suite runs under AddressSanitizer and UndefinedBehaviorSanitizer.
test:
	$(MAKE) SAN=1 test-bins
	tests/run $(BUILD)/san $(UNIT_TESTS) $(INTEGRATION_TESTS)

unit:
	$(MAKE) SAN=1 test-bins
	tests/run $(BUILD)/san $(UNIT_TESTS)

run: all
	scripts/run build

bench:
	@echo "no benchmarks yet"

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/sbin \
		$(DESTDIR)$(PREFIX)/libexec/pigeon $(DESTDIR)$(PREFIX)/share/pigeon/migrations
	install -m 755 build/pigeond $(DESTDIR)$(PREFIX)/sbin/pigeond
	install -m 755 build/pigeon-modem $(DESTDIR)$(PREFIX)/libexec/pigeon/pigeon-modem
	install -m 755 build/pigeon-modemsim $(DESTDIR)$(PREFIX)/bin/pigeon-modemsim
	install -m 644 db/migrations/*.sql $(DESTDIR)$(PREFIX)/share/pigeon/migrations/

clean:
	rm -rf build

# Keep test objects between runs.
.SECONDARY:

.PHONY: all test test-bins unit run bench install clean

-include $(shell find build -name '*.d' 2>/dev/null)
