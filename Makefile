# Pigeon: SMS-to-microblog gateway.
#
#   make            build pigeond, pigeon-modem, pigeon-smpp, pigeon-modemsim
#   make run        embedded PostgreSQL + two simulated modems + pigeond
#   make test       unit and integration tests, built with ASan+UBSan
#                   (both first install the Debian packages they lack)
#   make bench      benchmarks
#   make install    PREFIX=/usr/local DESTDIR= (make install-sim: the simulator)
#   make uninstall
#   make clean

VERSION  = 0.22.0
PREFIX  ?= /usr/local
SYSCONFDIR ?= /etc
DESTDIR ?=
CC      ?= cc
PKG_CONFIG ?= pkg-config

PKGS      = gammu libpq libevent jansson libcrypto
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
# common/ is what both sides share (logging, the channel framing); the modem
# side never includes gateway/ headers, nor the gateway modem/ ones.
CPPFLAGS += -D_GNU_SOURCE -Icommon \
            -DPIGEON_VERSION='"$(VERSION)"' \
            -DPIGEON_LIBEXECDIR='"$(PREFIX)/libexec/pigeon"' \
            -DPIGEON_SYSCONFDIR='"$(SYSCONFDIR)/pigeon"'
CFLAGS   += -std=c11 $(OPTFLAGS) $(WARNFLAGS) -MMD -MP \
            $(shell $(PKG_CONFIG) --cflags $(PKGS))
LDLIBS   += $(shell $(PKG_CONFIG) --libs $(PKGS) libevent_extra)
LDFLAGS  += $(OPTFLAGS)
TEST_CFLAGS = $(shell $(PKG_CONFIG) --cflags $(PKGS_TEST))
TEST_LIBS   = $(shell $(PKG_CONFIG) --libs $(PKGS_TEST))

# Code shared by pigeond and the modem processes.
COMMON_SRCS = \
	common/log.c \
	common/proto.c

PIGEOND_SRCS = \
	gateway/main.c \
	gateway/config.c \
	gateway/conflink.c \
	gateway/confcheck.c \
	gateway/confscan.c \
	gateway/confretention.c \
	gateway/confpin.c \
	gateway/migrate.c \
	gateway/number.c \
	gateway/fold.c \
	gateway/parse.c gateway/parse_words.c gateway/parse_hours.c \
	gateway/keywords.c \
	gateway/store.c gateway/store_result.c gateway/hold.c gateway/joblog.c \
	gateway/supervisor.c \
	gateway/link.c \
	gateway/linkset.c \
	gateway/reload.c \
	gateway/janitor.c \
	gateway/retention.c \
	gateway/digest.c \
	gateway/fanout.c \
	gateway/smstext.c \
	gateway/hostlock.c \
	gateway/modemmsg.c \
	gateway/inbound.c \
	gateway/commands.c \
	gateway/clockstep.c \
	gateway/scheduler.c \
	gateway/outcomes.c \
	gateway/ratelimit.c \
	gateway/ratedb.c \
	gateway/simpin.c \
	gateway/reports.c \
	gateway/watchdog.c \
	gateway/http.c \
	gateway/httpguard.c \
	gateway/httphead.c \
	gateway/httpport.c \
	gateway/api_modems.c \
	gateway/api_messages.c gateway/api_tokens.c gateway/api_moderation.c \
	gateway/api_body.c \
	gateway/api_params.c \
	gateway/api_users.c \
	gateway/api_desk.c \
	gateway/api_business.c \
	gateway/api_stats.c \
	gateway/atom.c \
	gateway/api_search.c \
	gateway/web_pages.c \
	gateway/web_i18n.c \
	gateway/web_feed.c \
	gateway/metrics.c \
	gateway/webhook.c \
	gateway/webhook_post.c

# The operator's CLI over the HTTP API; reads pigeon.conf for the address and token.
PIGEONCTL_SRCS = \
	gateway/pigeonctl.c gateway/pigeonctl_http.c gateway/pigeonctl_cmds.c \
	gateway/pigeonctl_biz.c gateway/pigeonctl_desk.c \
	gateway/config.c \
	gateway/conflink.c \
	gateway/confcheck.c \
	gateway/confscan.c \
	gateway/confretention.c \
	gateway/confpin.c

MODEM_SRCS = \
	modem/worker.c \
	modem/channel.c \
	modem/listing.c \
	modem/send.c \
	modem/gsm.c \
	modem/gsmsend.c \
	modem/gsmdummy.c \
	modem/gsmtext.c \
	modem/gsmlog.c \
	modem/gsmpart.c \
	modem/udh.c \
	modem/outcome.c \
	modem/health.c \
	modem/seen.c \
	modem/pin.c \
	modem/utf8.c

# One process per SMPP bind; it shares modem/utf8.c with pigeon-modem.
SMPP_SRCS = \
	smpp/main.c \
	smpp/deliver.c \
	smpp/link.c \
	smpp/submit.c \
	smpp/acks.c \
	smpp/pdu.c \
	smpp/text.c \
	modem/utf8.c \
	modem/gsmtext.c

MODEMSIM_SRCS = \
	modem/sim/main.c \
	modem/sim/at.c \
	modem/sim/atcmd.c \
	modem/sim/ctl.c \
	modem/sim/client.c \
	modem/sim/pdu.c \
	modem/sim/store.c \
	modem/sim/sentlog.c \
	modem/sim/pin.c \
	modem/sim/util.c

UNIT_TESTS = \
	tests/unit/test_config \
	tests/unit/test_number \
	tests/unit/test_parse \
	tests/unit/test_catalog \
	tests/unit/test_utf8 \
	tests/unit/test_udh \
	tests/unit/test_proto \
	tests/unit/test_ratelimit \
	tests/unit/test_httphead \
	tests/unit/test_log \
	tests/unit/test_smpp_pdu \
	tests/unit/test_smpp_link \
	tests/unit/test_issue15

# Each unit test links only the modules it tests.
# The configuration: config.c and what it reads with (the pre-pass, the
# link sections, the checks, [retention], the SIM PINs).
CONFIG_OBJS = gateway/config.o gateway/conflink.o gateway/confcheck.o gateway/confscan.o \
	gateway/confretention.o gateway/confpin.o
test_config_OBJS = $(CONFIG_OBJS) common/log.o
test_number_OBJS = gateway/number.o gateway/fold.o
test_parse_OBJS  = gateway/parse.o gateway/parse_words.o gateway/parse_hours.o gateway/keywords.o gateway/fold.o
test_proto_OBJS  = common/proto.o
test_ratelimit_OBJS = gateway/ratelimit.o $(CONFIG_OBJS) common/log.o
test_issue15_OBJS = gateway/ratelimit.o $(CONFIG_OBJS) common/log.o
test_catalog_OBJS = gateway/parse.o gateway/parse_words.o gateway/parse_hours.o gateway/keywords.o gateway/fold.o
test_log_OBJS     = common/log.o
test_utf8_OBJS    = modem/utf8.o
test_udh_OBJS     = modem/udh.o
test_httphead_OBJS = gateway/httphead.o gateway/modemmsg.o gateway/number.o gateway/fold.o \
	gateway/api_body.o
test_smpp_pdu_OBJS = smpp/pdu.o smpp/text.o modem/utf8.o modem/gsmtext.o common/log.o
# smpp/link.c, smpp/submit.c and smpp/acks.c are included by the test
# itself (their state is static).
test_smpp_link_OBJS = smpp/pdu.o smpp/text.o modem/utf8.o modem/gsmtext.o common/log.o

INTEGRATION_TESTS = \
	tests/integration/test_modemsim \
	tests/integration/test_worker \
	tests/integration/test_hostile_modem \
	tests/integration/test_listing \
	tests/integration/test_skeleton \
	tests/integration/test_crash \
	tests/integration/test_startup \
	tests/integration/test_host \
	tests/integration/test_bank \
	tests/integration/test_bank_volume \
	tests/integration/test_bank_reports \
	tests/integration/test_api \
	tests/integration/test_send_api \
	tests/integration/test_tokens \
	tests/integration/test_pigeonctl_api \
	tests/integration/test_moderation \
	tests/integration/test_desk \
	tests/integration/test_status_charts \
	tests/integration/test_pigeonctl \
	tests/integration/test_webhook \
	tests/integration/test_hostile_http \
	tests/integration/test_hostile_webhook \
	tests/integration/test_hostile_output \
	tests/integration/test_status_page \
	tests/integration/test_commands \
	tests/integration/test_darija \
	tests/integration/test_text \
	tests/integration/test_hostile_phone \
	tests/integration/test_track \
	tests/integration/test_digest \
	tests/integration/test_search \
	tests/integration/test_public_web \
	tests/integration/test_reach \
	tests/integration/test_business \
	tests/integration/test_audience \
	tests/integration/test_rel_hostile \
	tests/integration/test_rel_kill \
	tests/integration/test_rel_hosts \
	tests/integration/test_rel_hostlock \
	tests/integration/test_rel_unplug \
	tests/integration/test_link \
	tests/integration/test_monitor \
	tests/integration/test_install \
	tests/integration/test_confcheck \
	tests/integration/test_upgrade \
	tests/integration/test_smpp_worker \
	tests/integration/test_retention \
	tests/integration/test_rate_restart \
	tests/integration/test_simpin \
	tests/integration/test_smpp \
	tests/integration/test_smpp_receipts \
	tests/integration/test_smpp_mo \
	tests/integration/test_smpp_account \
	tests/integration/test_smpp_links \
	tests/integration/test_smpp_routes \
	tests/integration/test_rel_smpp

# What `make test` runs (tests/run): a program, or PROGRAM:CASE for one of
# its test cases. tests/run runs a program's cases side by side, each as an
# entry of its own, and a program given whole after some of its cases
# stands for the others. Entries start in the order given, PIGEON_TEST_JOBS
# at once: TESTS_FIRST are the long ones, longest first (tests/run prints
# each one's time, and the longest test functions), so that the run lasts
# about as long as its longest entry; the other tests follow. TESTS_ALONE
# stop and start their PostgreSQL: tests/run runs them one after the other
# on a cluster of their own, and with them the cases not given here of a
# program that does (test_api:routes and :notrun are given so that they run
# beside).
TESTS_ALONE = \
	tests/integration/test_rel_kill:pg \
	tests/integration/test_rel_hostlock \
	tests/integration/test_api:down

TESTS_FIRST = \
	tests/integration/test_rel_smpp \
	tests/integration/test_rel_clock:limits \
	tests/integration/test_rel_clock:webhook \
	tests/integration/test_hostile_phone:loop \
	tests/integration/test_public_web \
	tests/integration/test_smpp \
	tests/integration/test_smpp_receipts \
	tests/integration/test_smpp_mo \
	tests/integration/test_smpp_account \
	tests/integration/test_smpp_routes \
	tests/integration/test_smpp_links \
	tests/integration/test_digest \
	tests/integration/test_business:stats \
	tests/integration/test_business:schedule \
	tests/integration/test_commands:account \
	tests/integration/test_hostile_phone:hostile_phone \
	tests/integration/test_smpp_worker \
	tests/integration/test_worker:dummy \
	tests/integration/test_link:link \
	tests/integration/test_commands:social \
	tests/integration/test_text \
	tests/integration/test_track:track \
	tests/integration/test_simpin \
	tests/integration/test_darija \
	tests/integration/test_status_page \
	tests/integration/test_bank_volume:volume \
	tests/integration/test_reach \
	tests/integration/test_commands:sleep \
	tests/integration/test_bank_reports \
	tests/integration/test_track:stats \
	tests/integration/test_rel_kill:kill \
	tests/unit/test_config \
	tests/integration/test_skeleton \
	tests/integration/test_bank:routes \
	tests/integration/test_bank_volume:reload \
	tests/integration/test_commands:posts \
	tests/integration/test_rate_restart \
	tests/integration/test_crash \
	tests/integration/test_pigeonctl \
	tests/integration/test_moderation \
	tests/integration/test_send_api \
	tests/integration/test_worker:at \
	tests/integration/test_bank:restarts \
	tests/integration/test_rel_kill:worker \
	tests/integration/test_bank:silent \
	tests/integration/test_bank:failures \
	tests/integration/test_api:routes \
	tests/integration/test_api:notrun \
	tests/unit/test_parse

TESTS = $(TESTS_ALONE) $(TESTS_FIRST) $(INTEGRATION_TESTS) $(UNIT_TESTS)

# Issue 18: reliability tests too long for make test (a minute or more
# each); built by test-bins, run by make test-reliability. Two cases of
# test_rel_clock, a minute together, run in make test too (TESTS_FIRST):
# a member limited by a clock stepped back, a webhook signed by a host
# clock off by minutes.
REL_ONLY_TESTS = tests/integration/test_rel_db tests/integration/test_rel_window \
	tests/integration/test_rel_clock tests/integration/test_rel_webhook

HARNESS_SRCS = \
	tests/integration/harness.c \
	tests/integration/h_gateway.c \
	tests/integration/h_smsc.c \
	tests/integration/h_clock.c

obj = $(addprefix $(B)/,$(1:.c=.o))

PROGRAMS = $(B)/pigeond $(B)/pigeon-modem $(B)/pigeon-modemsim $(B)/pigeonctl \
	$(B)/pigeon-smpp

all: $(PROGRAMS)

# pigeond carries its SQL and reply catalogs (scripts/embed).
EMBED_FILES = \
	$(sort $(wildcard db/migrations/*.sql)) \
	$(sort $(wildcard db/functions/*.sql)) \
	$(sort $(wildcard gateway/catalog/*.json)) \
	$(sort $(wildcard gateway/web/*))

# The list itself is a prerequisite: a file renamed or removed (a
# migration renumbered) rebuilds it too, not only a file changed.
$(B)/gen/embed-list: FORCE
	@mkdir -p $(dir $@)
	@echo '$(EMBED_FILES)' | cmp -s - $@ || echo '$(EMBED_FILES)' >$@

$(B)/gen/embedded.c: $(EMBED_FILES) scripts/embed $(B)/gen/embed-list
	@mkdir -p $(dir $@)
	scripts/embed $@ $(EMBED_FILES)

$(B)/gen/embedded.o: $(B)/gen/embedded.c
	$(CC) $(CPPFLAGS) -Igateway $(CFLAGS) -c -o $@ $<

$(B)/pigeond: $(call obj,$(PIGEOND_SRCS) $(COMMON_SRCS)) $(B)/gen/embedded.o
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(B)/pigeonctl: $(call obj,$(PIGEONCTL_SRCS) $(COMMON_SRCS))
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(B)/pigeon-modem: $(call obj,$(MODEM_SRCS) $(COMMON_SRCS))
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(B)/pigeon-smpp: $(call obj,$(SMPP_SRCS) $(COMMON_SRCS))
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(B)/pigeon-modemsim: $(call obj,$(MODEMSIM_SRCS) $(COMMON_SRCS))
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lutil

# The objects that print PIGEON_VERSION are rebuilt when VERSION changes.
VERSION_OBJS = gateway/main gateway/migrate gateway/metrics gateway/http \
	gateway/pigeonctl modem/worker modem/sim/main smpp/main
$(addprefix $(B)/,$(addsuffix .o,$(VERSION_OBJS))): $(B)/gen/version
$(B)/gen/version: FORCE
	@mkdir -p $(dir $@)
	@echo '$(VERSION)' | cmp -s - $@ || echo '$(VERSION)' >$@
# And those that name the default configuration when SYSCONFDIR changes
# (make install SYSCONFDIR=/usr/local/etc after a make).
SYSCONF_OBJS = gateway/main gateway/pigeonctl_http
$(addprefix $(B)/,$(addsuffix .o,$(SYSCONF_OBJS))): $(B)/gen/sysconfdir
$(B)/gen/sysconfdir: FORCE
	@mkdir -p $(dir $@)
	@echo '$(SYSCONFDIR)' | cmp -s - $@ || echo '$(SYSCONFDIR)' >$@
FORCE:

# Each side sees common/ and its own folder; tests see everything.
dir_includes = $(if $(filter gateway/%,$(1)),-Igateway,$(if $(filter modem/%,$(1)),-Imodem,$(if $(filter smpp/%,$(1)),-Ismpp,$(if $(filter tests/%,$(1)),-Igateway -Imodem -Ismpp $(TEST_CFLAGS) -Itests/integration))))

$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(call dir_includes,$<) $(CFLAGS) -c -o $@ $<

$(B)/tests/unit/%: $(B)/tests/unit/%.o
	$(CC) $(LDFLAGS) -o $@ $^ $(TEST_LIBS) $(LDLIBS)

$(foreach t,$(UNIT_TESTS),$(eval $(B)/$(t): $(addprefix $(B)/,$($(notdir $(t))_OBJS))))

$(B)/tests/integration/%: $(B)/tests/integration/%.o $(call obj,$(HARNESS_SRCS))
	$(CC) $(LDFLAGS) -o $@ $^ $(TEST_LIBS) $(LDLIBS)

# The SMPP tests share their gateway's fixtures and helpers (h_smpp.c).
SMPP_TESTS = test_smpp test_smpp_receipts test_smpp_mo test_smpp_account test_smpp_links \
	test_smpp_routes
$(addprefix $(B)/tests/integration/,$(SMPP_TESTS)): $(B)/tests/integration/h_smpp.o

test-bins: test-run-bins $(addprefix $(B)/,$(REL_ONLY_TESTS))
# What make test runs, and only that.
test-run-bins: $(PROGRAMS) $(addprefix $(B)/,$(UNIT_TESTS) $(INTEGRATION_TESTS) \
	tests/integration/test_rel_clock)

# Fuzz targets (tests/fuzz, libFuzzer): clang, not $(CC). `make fuzz` runs
# each for FUZZ_SECONDS on a copy of its seed corpus (new finds stay in
# $(BUILD)/fuzz/corpus); `make fuzz-brief` (in `make test`) for a few seconds.
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_BRIEF_SECONDS ?= 8
FUZZ_DIR      = $(BUILD)/fuzz
FUZZ_FLAGS    = -std=c11 -g -O1 -fsanitize=fuzzer,address,undefined \
		-fno-sanitize-recover=undefined -D_GNU_SOURCE -Icommon -Igateway -Imodem -Ismpp \
		$(shell $(PKG_CONFIG) --cflags jansson)
FUZZ_TARGETS  = parse number modem api http atom smpp pdu fit
fuzz_parse_SRCS  = gateway/parse.c gateway/parse_words.c gateway/parse_hours.c gateway/keywords.c gateway/fold.c
fuzz_number_SRCS = gateway/number.c gateway/fold.c
fuzz_modem_SRCS  = common/proto.c gateway/modemmsg.c gateway/number.c gateway/fold.c
fuzz_api_SRCS    = gateway/api_body.c gateway/number.c gateway/fold.c
fuzz_http_SRCS   = gateway/httphead.c
fuzz_atom_SRCS   = gateway/atom.c
fuzz_smpp_SRCS   = smpp/pdu.c common/log.c modem/utf8.c
# The worker's side (issue 14); fuzz_fit includes modem/gsm.c and
# modem/gsmsend.c for their statics.
fuzz_pdu_SRCS    = common/log.c modem/gsmlog.c modem/gsmpart.c modem/gsmtext.c modem/udh.c modem/utf8.c
fuzz_pdu_PKGS    = gammu
fuzz_fit_SRCS    = $(fuzz_pdu_SRCS) modem/outcome.c modem/gsmdummy.c modem/seen.c
fuzz_fit_PKGS    = gammu

$(foreach t,$(FUZZ_TARGETS),$(eval $(FUZZ_DIR)/fuzz_$(t): $(fuzz_$(t)_SRCS)))
$(FUZZ_DIR)/fuzz_%: tests/fuzz/fuzz_%.c $(wildcard common/*.h gateway/*.h modem/*.h smpp/*.h) \
		modem/gsm.c modem/gsmsend.c modem/gsmdummy.c modem/gsmtext.c modem/gsmpart.c modem/udh.c modem/gsmlog.c \
		modem/seen.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) $(if $(fuzz_$*_PKGS),$(shell $(PKG_CONFIG) \
		--cflags $(fuzz_$*_PKGS))) -o $@ $< $(fuzz_$*_SRCS) \
		$(shell $(PKG_CONFIG) --libs jansson libevent $(fuzz_$*_PKGS))

fuzz-bins: $(addprefix $(FUZZ_DIR)/fuzz_,$(FUZZ_TARGETS))

# fuzz runs the targets one after the other, each on a core of its own;
# fuzz-brief runs them side by side: libFuzzer's limit is wall time, and
# one after the other they kept make test waiting 72 s (9 x 8 s) after the
# tests whenever the tests had left them no idle CPU. Each still replays
# its whole corpus first, whatever the time limit.
fuzz: fuzz-bins
	@for t in $(FUZZ_TARGETS); do \
		$(MAKE) --no-print-directory fuzz-one T=$$t SECS=$(FUZZ_SECONDS) || exit 1; \
	done

fuzz-brief: fuzz-bins
	@pids=""; for t in $(FUZZ_TARGETS); do \
		$(MAKE) --no-print-directory fuzz-one T=$$t SECS=$(FUZZ_BRIEF_SECONDS) \
			>$(FUZZ_DIR)/fuzz_$$t.out 2>&1 & pids="$$pids $$!"; \
	done; rc=0; for p in $$pids; do wait $$p || rc=1; done; \
	for t in $(FUZZ_TARGETS); do cat $(FUZZ_DIR)/fuzz_$$t.out; done; exit $$rc

# One target (T) for SECS seconds on a copy of its seed corpus.
fuzz-one:
	@mkdir -p $(FUZZ_DIR)/corpus/$(T)
	@echo "fuzz_$(T): $(SECS) s"
	@$(FUZZ_DIR)/fuzz_$(T) -max_total_time=$(SECS) -max_len=4096 -timeout=10 \
		-rss_limit_mb=2048 -print_final_stats=0 \
		-artifact_prefix=$(FUZZ_DIR)/crash-$(T)- \
		$(FUZZ_DIR)/corpus/$(T) tests/fuzz/corpus/$(T) \
		>$(FUZZ_DIR)/fuzz_$(T).log 2>&1 \
	|| { tail -n 40 $(FUZZ_DIR)/fuzz_$(T).log; echo "fuzz_$(T) FAILED"; exit 1; }
	@grep -E '^#[0-9]+.*DONE' $(FUZZ_DIR)/fuzz_$(T).log | tail -n 1

# Issue 7's long form: the reliability tests at full size (5,000 SMS and
# messages, 10,000 SMS flood), then the table of what each scenario lost
# and duplicated (tests/reliability/table, from the tests' REL| lines).
REL_TESTS = tests/integration/test_rel_hostile tests/integration/test_rel_kill \
	tests/integration/test_rel_hosts tests/integration/test_rel_unplug \
	tests/integration/test_rel_hostlock tests/integration/test_rel_smpp $(REL_ONLY_TESTS)

test-reliability:
	$(MAKE) SAN=1 test-bins
	tests/reliability/check-sql
	PIGEON_REL_LONG=1 tests/run $(BUILD)/san $(REL_TESTS); rc=$$?; \
		tests/reliability/table $${PIGEON_TEST_VAR:-var}/test-tmp; exit $$rc

# make run and make test install the Debian packages they lack first
# (scripts/deps: as root it runs apt-get; otherwise it prints the one
# command to run and stops), so a fresh machine needs only these two.
deps:
	@scripts/deps

# Issue 18's long run: real pigeond, workers and simulators (release
# build) under steady traffic for SOAK_MINUTES with faults; writes
# var/soak/soak.txt and soak.svg; fails on growth or drift. Not in make test.
SOAK_MINUTES ?= 30
test-soak: all
	SOAK_MINUTES=$(SOAK_MINUTES) tests/soak/soak.py $(BUILD)

# pigeond's RSS after MILLION_N (1,000,000) SMS through 4 dummy modems.
test-million: all
	tests/soak/million.sh $(BUILD)

# The test suite runs under AddressSanitizer and UndefinedBehaviorSanitizer.
# The build uses every core (TEST_JOBS); the fuzz targets are built, then
# briefly run, at the lowest priority beside tests/run, on the CPU the
# waiting tests leave idle (libFuzzer's time limit is wall time), and their
# output follows the tests'.
TEST_JOBS ?= $(shell nproc 2>/dev/null || echo 2)

# valgrind (memcheck) on a build without sanitizers, at -O1 in $(BUILD)/vg:
# the unit tests, and pigeond in the integration tests of VALGRIND_TESTS
# (PIGEON_TEST_VALGRIND, h_gateway.c: each run writes valgrind.PID.log in
# its test folder, and any report in one fails the target). Slower than
# make test and not part of it.
VG_BUILD       = $(BUILD)/vg
VALGRIND_TESTS = tests/integration/test_smpp tests/integration/test_smpp_receipts \
	tests/integration/test_smpp_mo tests/integration/test_smpp_account \
	tests/integration/test_smpp_links tests/integration/test_smpp_routes \
	tests/integration/test_commands tests/integration/test_api \
	tests/integration/test_business
valgrind:
	@scripts/deps
	$(MAKE) BUILD=$(VG_BUILD) OPTFLAGS='-O1 -g' test-run-bins
	@for t in $(UNIT_TESTS); do \
		CK_FORK=no valgrind --quiet --error-exitcode=97 --leak-check=full \
		    --errors-for-leak-kinds=definite $(VG_BUILD)/$$t \
		    >$(VG_BUILD)/$$(basename $$t).vg 2>&1 && echo "$$t: clean" || \
		    { cat $(VG_BUILD)/$$(basename $$t).vg; echo "$$t: FAILED"; exit 1; }; \
	done
	@find var/test-tmp -name 'valgrind.*.log' -delete 2>/dev/null || true
	PIGEON_TEST_VALGRIND=1 CK_DEFAULT_TIMEOUT=600 tests/run $(VG_BUILD) $(VALGRIND_TESTS)
	@bad=$$(find var/test-tmp -name 'valgrind.*.log' -size +0); \
	if [ -n "$$bad" ]; then cat $$bad; echo "valgrind: reports in $$bad"; exit 1; fi; \
	echo "valgrind: pigeond clean in $$(find var/test-tmp -name 'valgrind.*.log' | wc -l) runs"

# The screenshots kept in tests/integration/screenshots/ (the public web
# pages and the status page, in headless Chromium), made anew; `make test`
# writes its own in each test's scratch folder and leaves these alone.
SCREENSHOT_TESTS = tests/integration/test_public_web tests/integration/test_status_charts

screenshots:
	@scripts/deps
	$(MAKE) -j$(TEST_JOBS) SAN=1 test-run-bins
	PIGEON_TEST_SCREENSHOTS=$(CURDIR)/tests/integration/screenshots \
	    tests/run $(BUILD)/san $(SCREENSHOT_TESTS)

test:
	@scripts/deps
	$(MAKE) -j$(TEST_JOBS) all	# the -O2 build make run and make install use
	$(MAKE) -j$(TEST_JOBS) SAN=1 test-run-bins
	tests/reliability/check-sql
	tests/reliability/check-functions
	@nice -n 19 $(MAKE) --no-print-directory fuzz-brief >$(BUILD)/fuzz-brief.log 2>&1 & \
	fuzz=$$!; \
	PIGEON_TEST_ALONE="$(TESTS_ALONE)" tests/run $(BUILD)/san $(TESTS); rc=$$?; \
	wait $$fuzz || { echo "fuzz-brief FAILED"; rc=1; }; \
	cat $(BUILD)/fuzz-brief.log; cat $${PIGEON_TEST_VAR:-var}/test-summary 2>/dev/null; exit $$rc

unit:
	$(MAKE) SAN=1 test-bins
	tests/run $(BUILD)/san $(UNIT_TESTS)

run:
	@scripts/deps
	$(MAKE) all
	scripts/run $(BUILD)

bench:
	scripts/bench/run $(WORKLOADS)

# make install PREFIX=/usr [DESTDIR=...]: the programs, the unit, the
# sysusers.d and tmpfiles.d entries, the man pages, and a commented
# SYSCONFDIR/pigeon/pigeon.conf unless one is there already. pigeond finds
# its worker relative to itself (../libexec/pigeon), so `make; make install
# PREFIX=/usr` works whatever PREFIX the build had. The simulator is not a
# production program: `make install-sim` installs it.
UNITDIR     = $(PREFIX)/lib/systemd/system
SYSUSERSDIR = $(PREFIX)/lib/sysusers.d
TMPFILESDIR = $(PREFIX)/lib/tmpfiles.d
DOCDIR      = $(PREFIX)/share/doc/pigeon
SUBST       = sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g'
# In DOCDIR, side by side: README and the guides it, the man pages and
# operator.md name (docs/api.md, carrier.md, scaling.md...), with the soak
# figures reliability.md shows.
DOCS        = LICENSE README.md $(wildcard docs/*.md docs/*.svg docs/*.txt)

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/sbin \
		$(DESTDIR)$(PREFIX)/libexec/pigeon $(DESTDIR)$(DOCDIR) \
		$(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/man/man5 \
		$(DESTDIR)$(PREFIX)/share/man/man8 $(DESTDIR)$(UNITDIR) \
		$(DESTDIR)$(SYSUSERSDIR) $(DESTDIR)$(TMPFILESDIR)
	install -m 755 $(B)/pigeond $(DESTDIR)$(PREFIX)/sbin/pigeond
	install -m 755 $(B)/pigeonctl $(DESTDIR)$(PREFIX)/bin/pigeonctl
	install -m 755 $(B)/pigeon-modem $(DESTDIR)$(PREFIX)/libexec/pigeon/pigeon-modem
	install -m 755 $(B)/pigeon-smpp $(DESTDIR)$(PREFIX)/libexec/pigeon/pigeon-smpp
	install -m 644 docs/man/pigeonctl.1 $(DESTDIR)$(PREFIX)/share/man/man1/
	install -m 644 docs/man/pigeon.conf.5 $(DESTDIR)$(PREFIX)/share/man/man5/
	install -m 644 docs/man/pigeond.8 $(DESTDIR)$(PREFIX)/share/man/man8/
	install -m 644 $(DOCS) $(DESTDIR)$(DOCDIR)/
	install -m 644 scripts/pigeon.conf.example $(DESTDIR)$(DOCDIR)/pigeon.conf.example
	$(SUBST) scripts/pigeond.service >$(DESTDIR)$(UNITDIR)/pigeond.service
	$(SUBST) scripts/pigeon.sysusers >$(DESTDIR)$(SYSUSERSDIR)/pigeon.conf
	$(SUBST) scripts/pigeon.tmpfiles >$(DESTDIR)$(TMPFILESDIR)/pigeon.conf
	chmod 644 $(DESTDIR)$(UNITDIR)/pigeond.service $(DESTDIR)$(SYSUSERSDIR)/pigeon.conf \
		$(DESTDIR)$(TMPFILESDIR)/pigeon.conf
	@if [ -z "$(DESTDIR)" ] && command -v systemd-sysusers >/dev/null; then \
		systemd-sysusers $(SYSUSERSDIR)/pigeon.conf; \
		systemd-tmpfiles --create $(TMPFILESDIR)/pigeon.conf; \
	fi
	install -d -m 750 $(DESTDIR)$(SYSCONFDIR)/pigeon
	@if [ -e $(DESTDIR)$(SYSCONFDIR)/pigeon/pigeon.conf ]; then \
		echo "kept $(DESTDIR)$(SYSCONFDIR)/pigeon/pigeon.conf"; \
	else \
		install -m 640 scripts/pigeon.conf.example $(DESTDIR)$(SYSCONFDIR)/pigeon/pigeon.conf; \
		if [ -z "$(DESTDIR)" ] && getent group pigeon >/dev/null; then \
			chgrp pigeon $(SYSCONFDIR)/pigeon $(SYSCONFDIR)/pigeon/pigeon.conf; \
		fi; \
		echo "installed $(DESTDIR)$(SYSCONFDIR)/pigeon/pigeon.conf (edit it)"; \
	fi

install-sim: all
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 755 $(B)/pigeon-modemsim $(DESTDIR)$(PREFIX)/bin/pigeon-modemsim

# Leaves SYSCONFDIR/pigeon (the operator's configuration and token), the
# pigeon user and the database alone.
uninstall:
	rm -f $(DESTDIR)$(PREFIX)/sbin/pigeond $(DESTDIR)$(PREFIX)/bin/pigeonctl \
		$(DESTDIR)$(PREFIX)/bin/pigeon-modemsim \
		$(DESTDIR)$(PREFIX)/libexec/pigeon/pigeon-modem \
		$(DESTDIR)$(PREFIX)/libexec/pigeon/pigeon-smpp \
		$(DESTDIR)$(PREFIX)/share/man/man1/pigeonctl.1 \
		$(DESTDIR)$(PREFIX)/share/man/man5/pigeon.conf.5 \
		$(DESTDIR)$(PREFIX)/share/man/man8/pigeond.8 \
		$(DESTDIR)$(UNITDIR)/pigeond.service $(DESTDIR)$(SYSUSERSDIR)/pigeon.conf \
		$(DESTDIR)$(TMPFILESDIR)/pigeon.conf
	rm -rf $(DESTDIR)$(DOCDIR)
	-rmdir $(DESTDIR)$(PREFIX)/libexec/pigeon

clean:
	rm -rf build

# Keep test objects between runs.
.SECONDARY:

.PHONY: test-run-bins all test test-bins unit run bench valgrind screenshots install install-sim uninstall deps clean FORCE fuzz \
	fuzz-brief fuzz-one fuzz-bins test-reliability test-soak test-million

-include $(shell find build -name '*.d' 2>/dev/null)
