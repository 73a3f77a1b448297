# WhatsApp Embedded Signup onboarding: build, test, run locally, deploy.
# Everything runs from a fresh clone with Go and Node installed; `make help` lists the targets.

SHELL        := /bin/bash
GO           ?= go
FUNCTIONS    := $(notdir $(wildcard functions/*))
BUILD_DIR    := build
STAGE        ?= dev
GOFLAGS_BUILD := -trimpath -ldflags='-s -w -buildid='
# Packages that do not need the CDK toolchain (the CDK app lives in infra/cdk and is tested separately).
GO_PKGS       = $(shell $(GO) list ./... | grep -v '/infra/cdk')
CDK          := node_modules/.bin/cdk

.DEFAULT_GOAL := help

.PHONY: help
help: ## list the targets
	@grep -hE '^[a-zA-Z_%-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  %-16s %s\n", $$1, $$2}'

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

.PHONY: deps
deps: node_modules/.package-lock.json ## install the pinned Node tools (dynalite, asl-validator, CDK CLI, ...)
	$(GO) mod download

.PHONY: run
run: deps ## run the whole onboarding locally on $$ADDR (default 127.0.0.1:8080): API, workflow, Graph simulator; state in .local/
	$(GO) run ./infra/local

.PHONY: reset-local
reset-local: ## delete the local state of `make run` ($$LOCAL_STATE_DIR, default .local/); refused while a runner uses it
	$(GO) run ./infra/local reset

.PHONY: build
build: $(addprefix build-,$(FUNCTIONS)) ## build every Lambda function as an arm64 bootstrap for provided.al2023

build-%:
	@mkdir -p $(BUILD_DIR)/$*
	CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build $(GOFLAGS_BUILD) -tags lambda.norpc -o $(BUILD_DIR)/$*/bootstrap ./functions/$*

# staticcheck at a pinned version, run through the module proxy (no entry in go.mod).
STATICCHECK_VERSION ?= v0.8.2
STATICCHECK         := $(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

.PHONY: lint
lint: ## gofmt, go vet, staticcheck, and go.mod/go.sum as go mod tidy leaves them
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './node_modules/*')); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(STATICCHECK) ./...
	@$(GO) mod tidy -diff || { echo "go.mod/go.sum are not tidy: run go mod tidy"; exit 1; }

# Fuzzing: scripts/fuzz.sh holds the list of targets and runs each for the given time (go test runs one fuzz
# target per invocation). `make test` runs them briefly so that a broken property fails CI; `make fuzz` longer.
FUZZTIME_BRIEF ?= 4s
FUZZTIME       ?= 60s

.PHONY: test
# Headless Chromium for the browser tests of the example partner page (Debian's package; CHROMIUM_PATH
# overrides the path). Installed when missing and this user may install packages.
.PHONY: browser
browser:
	@command -v $${CHROMIUM_PATH:-chromium} >/dev/null 2>&1 || { \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO="sudo -n"; \
	  echo "installing Debian's chromium for the browser tests"; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null; }

# make test runs every test: one that needs Node tools or Chromium fails instead of skipping (internal/testenv).
test: export REQUIRE_NODE_TOOLS := 1
test: export REQUIRE_BROWSER := 1
test: deps browser lint ## lint, then every test (unit, fault injection, adapters on dynalite, workflow conformance, stack, browser) and brief fuzzing
	$(GO) test -race -count=1 $(GO_PKGS)
	$(GO) test -count=1 ./infra/cdk/...
	GO=$(GO) scripts/fuzz.sh $(FUZZTIME_BRIEF)

.PHONY: fuzz
fuzz: ## run every fuzz target for FUZZTIME (default 60s) each; failing inputs land in testdata/fuzz
	GO=$(GO) scripts/fuzz.sh $(FUZZTIME)

# Benchmarks (docs/benchmarks.md): each bench-* target prints its tables and keeps them in $(BENCH_DIR)/*.md;
# `make bench` runs them all (about 15 minutes on 2 cores) and gathers the tables in $(BENCH_DIR)/results.md.
BENCH_DIR    := $(BUILD_DIR)/bench
BENCH_COUNT  ?= 3
BENCH_TIME   ?= 300ms
INIT_RUNS    ?= 21
PEER_FLAGS   ?=
LOAD_FLAGS   ?=
HOST_OS      := $(shell $(GO) env GOOS)
HOST_ARCH    := $(shell $(GO) env GOARCH)

.PHONY: bench bench-go bench-init bench-peer bench-load bench-tools bench-machine bench-lambda bench-lambda-tools bench-lambda-prof cost
bench: deps ## every benchmark, the Node.js peer, init times, the load test, the functions under AWS's emulator, the cost model
	@$(MAKE) --no-print-directory bench-machine bench-go bench-init bench-peer bench-load bench-lambda cost
	@cat $(BENCH_DIR)/machine.md $(BENCH_DIR)/go.md $(BENCH_DIR)/init.md $(BENCH_DIR)/peer.md $(BENCH_DIR)/load.md \
	  $(BENCH_DIR)/lambda.md $(BENCH_DIR)/cost.md > $(BENCH_DIR)/results.md
	@echo; echo "All tables: $(BENCH_DIR)/results.md"

bench-machine:
	@mkdir -p $(BENCH_DIR)
	@{ echo "### Machine"; echo; \
	  echo "- CPU: $$( (lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -1) || sysctl -n machdep.cpu.brand_string 2>/dev/null), $$(getconf _NPROCESSORS_ONLN) cores online"; \
	  echo "- memory: $$(awk '/MemTotal/ {printf "%.0f GiB", $$2/1048576}' /proc/meminfo 2>/dev/null)"; \
	  echo "- OS: $$(. /etc/os-release 2>/dev/null && echo "$$PRETTY_NAME"), kernel $$(uname -sr)"; \
	  echo "- $$($(GO) version)"; echo "- Node $$(node --version)"; \
	  echo "- load average when the run started: $$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)"; echo; } | tee $(BENCH_DIR)/machine.md

# The whole suite runs BENCH_COUNT times over (rather than -count, which repeats each benchmark back to back),
# so that a burst of other work on the machine spoils one run of a benchmark, not all; benchtab keeps the best.
# -p 1: one package at a time, so that two benchmarks never share the cores.
bench-go: deps ## Go benchmarks: intake vs floor, signup validation, interpreter, Graph client, end-to-end onboarding, ...
	@mkdir -p $(BENCH_DIR)
	set -o pipefail; for i in $$(seq $(BENCH_COUNT)); do \
	  $(GO) test -p 1 -run '^$$' -bench . -benchmem -count 1 -benchtime $(BENCH_TIME) $(GO_PKGS) || exit 1; \
	done | tee $(BENCH_DIR)/go.txt
	set -o pipefail; $(GO) run ./bench/cmd/benchtab < $(BENCH_DIR)/go.txt | tee $(BENCH_DIR)/go.md

bench-init: build ## each function binary's size (linux/arm64 and this machine) and init time (Runtime API emulated)
	@mkdir -p $(BENCH_DIR)
	for f in $(FUNCTIONS); do \
	  CGO_ENABLED=0 GOOS=$(HOST_OS) GOARCH=$(HOST_ARCH) $(GO) build $(GOFLAGS_BUILD) -tags lambda.norpc \
	    -o $(BENCH_DIR)/$(HOST_OS)-$(HOST_ARCH)/$$f/bootstrap ./functions/$$f || exit 1; \
	done
	set -o pipefail; $(GO) run ./bench/cmd/initbench -host $(BENCH_DIR)/$(HOST_OS)-$(HOST_ARCH) -arm64 $(BUILD_DIR) -runs $(INIT_RUNS) | tee $(BENCH_DIR)/init.md

bench-tools:
	@mkdir -p $(BENCH_DIR)
	$(GO) build -o $(BENCH_DIR)/load ./bench/cmd/load
	@if command -v cc >/dev/null; then cc -O2 -Wall -Werror -o $(BENCH_DIR)/cfloor bench/peer/cfloor.c; \
	else echo "no C compiler: bench-peer skips the C floor"; fi

bench-peer: bench-tools ## the webhook intake side by side with a typical Node.js receiver (bench/peer), same payloads
	set -o pipefail; $(BENCH_DIR)/load peer $(PEER_FLAGS) | tee $(BENCH_DIR)/peer.md

bench-load: bench-tools ## load on the local runner: 1000 concurrent signups, 10 000 webhooks with 10 % duplicates
	set -o pipefail; $(BENCH_DIR)/load runner $(LOAD_FLAGS) | tee $(BENCH_DIR)/load.md

# The functions as Lambda runs them (docs/benchmarks.md, section 5): AWS's Runtime Interface Emulator, built
# from the Go module proxy at a pinned version, runs each bootstrap (built for this machine with `make
# build`'s flags) and the Node.js peer (bench/peer/node-lambda); DynamoDB is dynalite, SQS is goaws (pinned,
# built the same way), the rest a stand-in at the network edge. The last line printed is the ratio line.
RIE_MODULE    := github.com/aws/aws-lambda-runtime-interface-emulator
RIE_VERSION   := v0.0.0-20261030222936-bef5c4ba774d
GOAWS_MODULE  := github.com/Admiral-Piett/goaws
GOAWS_VERSION := v0.4.5
BENCH_BIN     := $(BENCH_DIR)/bin
LAMBDA_FUNCS  := webhook api webhook_worker
LAMBDA_FLAGS  ?=
COST_FLAGS    ?=
COST_STAGE    ?= prod

$(BENCH_BIN)/aws-lambda-rie:
	@mkdir -p $(BENCH_BIN)
	GOBIN=$(abspath $(BENCH_BIN)) CGO_ENABLED=0 $(GO) install $(RIE_MODULE)/cmd/aws-lambda-rie@$(RIE_VERSION)

# goaws's main package is app/cmd, so `go install` names the binary cmd.
$(BENCH_BIN)/goaws:
	@mkdir -p $(BENCH_BIN)
	tmp=$$(mktemp -d) && GOBIN=$$tmp CGO_ENABLED=0 $(GO) install $(GOAWS_MODULE)/app/cmd@$(GOAWS_VERSION) && mv $$tmp/cmd $@ && rmdir $$tmp

# The official Node.js Runtime Interface Client has a native part (aws-lambda-cpp and curl, built by its
# install scripts with cmake and a C++ compiler). Without them the peer runs on its minimal Runtime API
# loop (bench/peer/node-lambda/runtime.mjs) and the tables say so.
bench-lambda-tools: deps $(BENCH_BIN)/aws-lambda-rie $(BENCH_BIN)/goaws
	@for f in $(LAMBDA_FUNCS); do \
	  CGO_ENABLED=0 GOOS=$(HOST_OS) GOARCH=$(HOST_ARCH) $(GO) build $(GOFLAGS_BUILD) -tags lambda.norpc \
	    -o $(BENCH_DIR)/lambda/$$f/bootstrap ./functions/$$f || exit 1; \
	done
	CGO_ENABLED=0 GOOS=$(HOST_OS) GOARCH=$(HOST_ARCH) $(GO) build $(GOFLAGS_BUILD) -tags lambda.norpc \
	  -o $(BENCH_DIR)/lambda/noopfn/bootstrap ./bench/cmd/noopfn
	@if [ ! -f bench/peer/node-lambda/node_modules/aws-lambda-ric/rapid-client.node ]; then \
	  if command -v cmake >/dev/null && command -v c++ >/dev/null; then \
	    (cd bench/peer/node-lambda && npm ci --no-audit --no-fund --foreground-scripts >/dev/null) || \
	      echo "aws-lambda-ric did not build: the Node.js peer runs on bench/peer/node-lambda/runtime.mjs"; \
	  else echo "no cmake or C++ compiler: the Node.js peer runs on bench/peer/node-lambda/runtime.mjs (apt-get install cmake g++ for aws-lambda-ric)"; fi; \
	fi

bench-lambda: bench-lambda-tools ## the functions and the Node.js peer under AWS's Runtime Interface Emulator: cold start, warm p50/p99, CPU, RSS
	set -o pipefail; $(GO) run ./bench/cmd/lambdabench -functions $(BENCH_DIR)/lambda -rie $(BENCH_BIN)/aws-lambda-rie \
	  -goaws $(BENCH_BIN)/goaws -json $(BENCH_DIR)/lambda.json $(LAMBDA_FLAGS) | tee $(BENCH_DIR)/lambda.md

bench-lambda-prof: bench-lambda-tools ## CPU profile of the webhook function's work per 1 KB webhook, in-process (no Runtime API)
	$(GO) run ./bench/cmd/lambdaprof -goaws $(BENCH_BIN)/goaws -cpuprofile $(BENCH_DIR)/webhook.pprof
	$(GO) tool pprof -top -cum -nodecount=80 $(BENCH_DIR)/webhook.pprof 2>/dev/null | tee $(BENCH_DIR)/webhook-prof.txt

# The cost model reads the synthesized template of COST_STAGE and bench-lambda's figures (run it first; `make
# bench` does), and runs one onboarding in-process to count what it does.
cost: deps ## dollars per onboarding and per million webhooks on AWS, recommended memory sizes and SQS batching (docs/cost.md)
	@test -f $(BENCH_DIR)/lambda.json || { echo "no $(BENCH_DIR)/lambda.json: run make bench-lambda first"; exit 1; }
	$(MAKE) --no-print-directory synth STAGE=$(COST_STAGE)
	set -o pipefail; $(GO) run ./bench/cmd/cost -template cdk.out/wa-onboarding-$(COST_STAGE).template.json \
	  -bench $(BENCH_DIR)/lambda.json -json $(BENCH_DIR)/cost.json $(COST_FLAGS) | tee $(BENCH_DIR)/cost.md

.PHONY: synth
synth: deps build ## synthesize the CloudFormation template for STAGE (offline, no AWS credentials)
	$(CDK) synth -c stage=$(STAGE) --quiet

.PHONY: diff
diff: deps build ## compare STAGE with what is deployed (needs AWS credentials)
	$(CDK) diff -c stage=$(STAGE)

.PHONY: deploy
deploy: deps build ## deploy STAGE (needs AWS credentials): make deploy STAGE=prod
	$(CDK) deploy -c stage=$(STAGE) --require-approval broadening --outputs-file cdk.out/outputs-$(STAGE).json

.PHONY: bootstrap
# The CLI synthesizes the app to find its environment, so bootstrap needs the function binaries too.
bootstrap: deps build ## bootstrap the CDK in the current AWS account and region (once per account/region)
	$(CDK) bootstrap -c stage=$(STAGE)

.PHONY: clean
clean: ## remove build outputs
	rm -rf $(BUILD_DIR) cdk.out
