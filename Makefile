# packet-monitor: build, test, run and install.
#   sudo make run    install missing system packages, build, start the monitor
#   sudo make test   same set-up, then every test
# As root (no sudo on the machine), plain `make run` / `make test` do the same.

SHELL := /bin/bash
.DEFAULT_GOAL := all

BUILD      := build
BPF_OBJ    := $(BUILD)/bpf/packet_monitor.bpf.o
BIN_DIR    := $(BUILD)/bin
BIN        := $(BIN_DIR)/packet-monitor
PREFIX     ?= /usr/local
LIB_DIR    := $(PREFIX)/lib/packet-monitor
UNIT_DIR   ?= /etc/systemd/system
ARCH_INC   := /usr/include/$(shell gcc -dumpmachine 2>/dev/null || echo x86_64-linux-gnu)
CLANG      ?= clang
LLVM_STRIP ?= llvm-strip
RUN_ARGS   ?= serve

# The .NET SDK may live outside root's PATH under sudo: look in the usual places.
DOTNET ?= $(or $(shell command -v dotnet 2>/dev/null),$(wildcard /usr/share/dotnet/dotnet),$(wildcard /usr/lib/dotnet/dotnet),$(wildcard $(HOME)/.dotnet/dotnet),$(if $(SUDO_USER),$(wildcard $(shell getent passwd $(SUDO_USER) | cut -d: -f6)/.dotnet/dotnet)))
export DOTNET_CLI_TELEMETRY_OPTOUT := 1
export DOTNET_NOLOGO := 1
export DOTNET_SKIP_FIRST_TIME_EXPERIENCE := 1

# Debian packages the build, the monitor and the tests need.
DEB_PACKAGES := clang llvm libbpf-dev libbpf1 libelf-dev zlib1g-dev gcc make bpftool nftables iproute2 procps util-linux jq chromium prometheus tshark e2fsprogs mount
# Only for `make bench-peers`: the tools packet-monitor is compared with (bench/peers/README.md).
BENCH_PACKAGES := bpftrace bpfcc-tools python3-bpfcc linux-perf dropwatch

BPF_SOURCES := $(wildcard bpf/*.c bpf/*.h)
TEST_PROJECTS := $(wildcard tests/*/*.Tests.csproj)
CS_SOURCES  := $(shell find src -path '*/node_modules' -prune -o -path '*/wwwroot' -prune -o \( -name '*.cs' -o -name '*.csproj' -o -path '*/frontend/src/*' -o -name 'package*.json' \) -print 2>/dev/null) Directory.Build.props Directory.Packages.props

.PHONY: all bpf user generate-vmlinux install uninstall clean help deps check-dotnet run test tracefs bench bench-dashboard bench-deps bench-peers bench-history soak

all: bpf user ## Build the eBPF program and the packet-monitor binary

bpf: $(BPF_OBJ) ## Build the eBPF program only (clang -target bpf)

# Same command as the CompileBpf target of src/PacketMonitor.Kernel (which embeds the object).
$(BPF_OBJ): $(BPF_SOURCES)
	@mkdir -p $(dir $@)
	$(CLANG) -g -O2 -Wall -Werror -target bpf -D__TARGET_ARCH_x86 -I$(ARCH_INC) -Ibpf -c bpf/packet_monitor.bpf.c -o $@.tmp
	$(LLVM_STRIP) -g $@.tmp -o $@ && rm -f $@.tmp

user: $(BIN) ## Build the userspace binary only (C#, into build/bin)

$(BIN): $(BPF_OBJ) $(CS_SOURCES) | check-dotnet
	$(DOTNET) publish src/PacketMonitor/PacketMonitor.csproj -c Release -o $(BIN_DIR) --nologo -v quiet
	@echo "built $(BIN)"

generate-vmlinux: ## Dump the running kernel's types to build/vmlinux.h (for exploration; the build does not need it)
	@mkdir -p $(BUILD)
	bpftool btf dump file /sys/kernel/btf/vmlinux format c > $(BUILD)/vmlinux.h
	@echo "wrote $(BUILD)/vmlinux.h"

install: all ## Install to $(PREFIX)/bin and a systemd unit to $(UNIT_DIR)
	install -d $(LIB_DIR) $(PREFIX)/bin
	cp -r $(BIN_DIR)/. $(LIB_DIR)/
	ln -sf $(LIB_DIR)/packet-monitor $(PREFIX)/bin/packet-monitor
	install -D -m 644 deploy/packet-monitor.service $(UNIT_DIR)/packet-monitor.service
	@if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then systemctl daemon-reload; fi
	@echo "installed $(PREFIX)/bin/packet-monitor; start the service with: systemctl enable --now packet-monitor"

uninstall: ## Remove what install put in place
	rm -rf $(LIB_DIR) $(PREFIX)/bin/packet-monitor $(UNIT_DIR)/packet-monitor.service

clean: ## Remove build artifacts
	rm -rf $(BUILD) src/*/bin src/*/obj tests/*/bin tests/*/obj src/PacketMonitor.Web/wwwroot src/PacketMonitor.Web/frontend/node_modules

deps: ## Install missing Debian packages (apt-get)
	@missing=""; for p in $(DEB_PACKAGES); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" != 0 ]; then echo "missing packages:$$missing -- run as root: sudo make deps"; exit 1; fi; \
	  echo "installing:$$missing"; \
	  export DEBIAN_FRONTEND=noninteractive; apt-get update -qq && apt-get install -y -qq --no-install-recommends $$missing; \
	else echo "system packages: all present"; fi
	@# The dashboard's front-end is built with npm; Debian's nodejs/npm only if none is installed.
	@if ! command -v npm >/dev/null; then \
	  if [ "$$(id -u)" != 0 ]; then echo "npm missing -- run as root: sudo make deps"; exit 1; fi; \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm; fi

check-dotnet:
	@if [ -z "$(DOTNET)" ]; then echo "the .NET 10 SDK was not found: install it (https://learn.microsoft.com/dotnet/core/install/linux-debian) or set DOTNET=/path/to/dotnet"; exit 1; fi

tracefs: # The classic-tracepoint fallback needs tracefs mounted.
	@[ -d /sys/kernel/tracing/events ] || mount -t tracefs nodev /sys/kernel/tracing 2>/dev/null || true

run: deps all tracefs ## Set up, build and start the dashboard on http://127.0.0.1:5000 (RUN_ARGS="watch" for the terminal)
	./$(BIN) $(RUN_ARGS)

test: deps all tracefs ## Set up, build and run every test (kernel tests need root)
	@rm -rf $(BUILD)/test-results
	@status=0; for project in $(TEST_PROJECTS); do \
	  name=$$(basename $$project .csproj); \
	  $(DOTNET) test $$project -c Release --nologo --logger "trx;LogFileName=$$name.trx" --results-directory $(BUILD)/test-results || status=$$?; \
	done; \
	(cd src/PacketMonitor.Web/frontend && node --test --test-reporter=tap test/) > $(BUILD)/test-results/frontend.tap || status=$$?; \
	scripts/test-summary.sh $(BUILD)/test-results; exit $$status

bench: deps all ## Drop-generator benchmark (see bench/README.md)
	bench/run.sh

bench-dashboard: deps all ## Dashboard under a 60 s drop storm with two browsers (bench/dashboard/run.sh)
	bench/dashboard/run.sh

bench-deps: # The peers' packages (BENCH_PACKAGES), kept out of DEB_PACKAGES so that `make test` stays lean.
	@$(MAKE) --no-print-directory deps DEB_PACKAGES="$(BENCH_PACKAGES)"

bench-peers: deps bench-deps all tracefs ## packet-monitor against BCC, bpftrace and perf on one drop workload (bench/peers/run.sh)
	bench/peers/run.sh

soak: deps all tracefs ## Storm soak: 10 min at full rate, history, two browsers, Prometheus; asserts (bench/soak/run.sh, SOAK_SECONDS=N)
	bench/soak/run.sh

bench-history: check-dotnet ## History writer rows/s, growth per million events, /api/history/rates over 24 h (synthetic)
	@mkdir -p $(BUILD)/bench
	$(DOTNET) run --project bench/history -c Release -- --out $(BUILD)/bench/history.json

help: ## Show the targets
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | awk -F'\t' '{printf "  make %-18s %s\n", $$1, $$2}'
