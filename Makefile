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
run: deps ## run the whole onboarding locally on $$ADDR (default 127.0.0.1:8080): API, workflow, Graph simulator
	$(GO) run ./infra/local

.PHONY: build
build: $(addprefix build-,$(FUNCTIONS)) ## build every Lambda function as an arm64 bootstrap for provided.al2023

build-%:
	@mkdir -p $(BUILD_DIR)/$*
	CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build $(GOFLAGS_BUILD) -tags lambda.norpc -o $(BUILD_DIR)/$*/bootstrap ./functions/$*

.PHONY: lint
lint: ## gofmt and go vet
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './node_modules/*')); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...

.PHONY: test
test: deps lint ## lint, then every test (unit, adapters on dynalite, workflow conformance, stack, browser)
	$(GO) test -race -count=1 $(GO_PKGS)
	$(GO) test -count=1 ./infra/cdk/...

.PHONY: bench
bench: deps ## benchmarks, load and long fuzzing runs; prints the tables
	$(GO) test -run '^$$' -bench . -benchmem $(GO_PKGS)

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
