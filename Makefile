# buttctl — `make run` opens the console on this machine's Docker engine;
# `make test` installs what the tests need and runs them all.
SHELL := /bin/bash
GO ?= go
PKG := github.com/buttctl/buttctl
BIN := bin/buttctl
VERSION := $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT := $(shell git rev-parse --short HEAD 2>/dev/null || echo none)
LDFLAGS := -X $(PKG)/cmd/buttctl/internal/cmd/root.buildVersion=$(VERSION) -X $(PKG)/cmd/buttctl/internal/cmd/root.buildCommit=$(COMMIT)
# Debian packages the tests drive for real (debootstrap builds the test world's hubs).
TEST_DEBS := openssh-server tmux debootstrap systemd
# The real OpenStack the cloud tests run against (Debian's packages, on loopback).
OPENSTACK := ops/cloud/openstacktest/openstack.sh
# Debian packages the benchmarks compare buttctl with; make bench tries to install
# them and a benchmark says (b.Log) which ones are missing.
BENCH_DEBS := pssh ansible
# The test world (ops/testworld): hubs with their own sshd and dockerd, in WORLD_DIR.
WORLD := bin/world
WORLD_DIR := .world
WORLD_HUBS := 3
# What `make demo` shows of the world: the console on a terminal, else status and the pubs.
DEMO_PUBS := pub-1 pub-2 pub-3 pub-4 pub-5 pub-6
DEMO_CMD := if [ -t 0 ] && [ -t 1 ]; then ./$(BIN); else ./$(BIN) status && echo && ./$(BIN) pub list; fi
# The pubs' image for `make run`: the real one when this machine's engine has it or can pull
# it, else the stand-in built here from the repository (README: "make run").
RUN_IMAGE := ahdinosaur/ssb-pub
STANDIN_IMAGE := buttctl/testpub

# The chaos soak (ops/chaos): CHAOS_DURATION of faults on its own world of 3 hubs
# and 12 pubs; CHAOS_SEED re-runs the faults of an earlier soak; `make test` runs 3m.
CHAOS := bin/chaos
CHAOS_DURATION ?= 10m
CHAOS_SEED ?=
CHAOS_DIR := .chaos

.PHONY: build test test-deps chaos test-cloud openstack-up openstack-down bench-deps world-deps lint bench run clean world-up clean-world demo FORCE

build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/buttctl

# test-deps installs, with apt-get, the Debian packages the tests need and this machine lacks.
test-deps:
	@missing=""; for p in $(TEST_DEBS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get update -qq && apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi
	@bash $(OPENSTACK) install

# The cloud tests (ops/cloud/openstacktest) start the OpenStack services
# themselves when they are not running, under a machine-wide lock, while the
# other packages test in parallel, and stop exactly what they started.
# BUTTCTL_SKIP_OPENSTACK=1 skips them (CI never sets it).

# test-cloud runs only the tests against the real OpenStack.
test-cloud: test-deps
	$(GO) test -race -count=1 -timeout 30m -v ./ops/cloud/openstacktest/

# openstack-up keeps the test OpenStack running (state in /dev/shm/buttctl-openstack,
# clouds.yaml there); tests then use it and leave it running. openstack-down stops it.
openstack-up: test-deps
	bash $(OPENSTACK) start
openstack-down:
	bash $(OPENSTACK) stop

# bench-deps installs BENCH_DEBS when it can; failing to is not an error.
bench-deps:
	@missing=""; for p in $(BENCH_DEBS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		export DEBIAN_FRONTEND=noninteractive; \
		(apt-get update -qq && apt-get install -y -qq --no-install-recommends $$missing >/dev/null) || \
			echo "could not install$$missing: benchmarks compare with what is installed"; \
	fi

# world-deps: Docker itself, when the machine has none (never replaces another Docker).
world-deps:
	@command -v dockerd >/dev/null || { echo "installing: docker.io"; \
		DEBIAN_FRONTEND=noninteractive apt-get update -qq && apt-get install -y -qq docker.io >/dev/null; }

$(WORLD): FORCE
	@$(GO) build -o $(WORLD) ./ops/testworld/cmd/world

$(CHAOS): FORCE
	@$(GO) build -o $(CHAOS) ./ops/chaos/cmd/chaos

# test: one shared world for the whole run (BUTTCTL_TEST_WORLD), stopped at the end
# whatever happens; tests that break hubs start private worlds of their own.
# Then the chaos soak, 3 minutes of it, on a world of its own.
test: test-deps world-deps $(WORLD)
	@if [ "$$BUTTCTL_SKIP_DOCKER" = 1 ]; then exec $(GO) test -race -count=1 -timeout 30m ./...; fi; \
	trap './$(WORLD) down --dir $(WORLD_DIR)' EXIT; \
	./$(WORLD) up --dir $(WORLD_DIR) --hubs $(WORLD_HUBS) && \
	BUTTCTL_TEST_WORLD=$(abspath $(WORLD_DIR))/state.json $(GO) test -race -count=1 -timeout 30m ./...
	@if [ "$$BUTTCTL_SKIP_DOCKER" != 1 ]; then $(MAKE) --no-print-directory chaos CHAOS_DURATION=3m; fi

# chaos: the soak; its report (text and JSON) and logs are in CHAOS_DIR, its exit
# status says whether every assertion held.
chaos: test-deps world-deps build $(CHAOS)
	./$(CHAOS) --duration $(CHAOS_DURATION) --seed "$(CHAOS_SEED)" --dir $(CHAOS_DIR) --buttctl $(BIN)

# world-up: a world to poke at (BUTTCTL_INVENTORY=.world/inventory.yaml), until make clean-world.
world-up: world-deps $(WORLD)
	./$(WORLD) up --dir $(WORLD_DIR) --hubs $(WORLD_HUBS)

# clean-world: stop the world in WORLD_DIR and worlds left by ended test processes (by recorded ids).
clean-world: $(WORLD)
	./$(WORLD) down --dir $(WORLD_DIR)

# demo: a 3-hub world, 6 pubs created on it by buttctl (over SSH), and buttctl's view of the
# fleet. The world keeps running until make clean-world.
demo: test-deps world-deps build $(WORLD)
	./$(WORLD) up --dir $(WORLD_DIR) --hubs 3 --pubs 6 --run-pubs=false
	@export BUTTCTL_INVENTORY=$(abspath $(WORLD_DIR))/inventory.yaml; set -x; \
	./$(BIN) pub create $(DEMO_PUBS) && ./$(WORLD) wait-healthy --dir $(WORLD_DIR) && { $(DEMO_CMD); }
	@echo; echo "export BUTTCTL_INVENTORY=$(abspath $(WORLD_DIR))/inventory.yaml   # then: ./$(BIN) ...;  stop it: make clean-world"

FORCE:

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@latest ./... || echo "staticcheck unavailable or failed (see above)"

bench: test-deps bench-deps build
	$(GO) test -run '^$$' -bench . -benchtime 1x -timeout 30m ./...

# run: the console on this machine's engine (hub `local`). With no inventory, a starter is
# written first (buttctl init), its pubs on RUN_IMAGE if the engine has it or can pull it,
# else on STANDIN_IMAGE, built here (bin/world pub-image; cached by its inputs). A watcher
# (buttctl watch, log in bin/watch.log) heals pubs while the console is open, unless one
# already watches this inventory; it is stopped, by its pid, when the console closes.
run: world-deps build $(WORLD)
	@inv="$$(./$(BIN) inventory path)"; \
	if [ ! -e "$$inv" ]; then \
		if docker image inspect $(RUN_IMAGE) >/dev/null 2>&1 || timeout 120 docker pull $(RUN_IMAGE) >/dev/null 2>&1; then \
			./$(BIN) init; \
		else \
			echo "$(RUN_IMAGE) cannot be pulled here: building the stand-in pub image $(STANDIN_IMAGE) (see README, make run)"; \
			./$(WORLD) pub-image && ./$(BIN) init --image $(STANDIN_IMAGE); \
		fi; \
	elif grep -q '$(STANDIN_IMAGE)' "$$inv" && ! docker image inspect $(STANDIN_IMAGE) >/dev/null 2>&1; then \
		./$(WORLD) pub-image; \
	fi
	@./$(BIN) watch >>bin/watch.log 2>&1 & wpid=$$!; \
	trap 'kill $$wpid 2>/dev/null; wait $$wpid 2>/dev/null' EXIT; \
	./$(BIN)

clean:
	rm -rf bin
