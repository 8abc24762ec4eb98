# Junction task runner. `make` lists the targets.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

GO      ?= go
BIN     := $(CURDIR)/bin
MODULES := . adapters adapters/sdk proto

# Pinned tool versions, installed into ./bin by `make tools`.
BUF_VERSION                := v1.75.0
PROTOC_GEN_GO_VERSION      := v1.36.12
PROTOC_GEN_GO_GRPC_VERSION := v1.6.2
GRPC_GATEWAY_VERSION       := v2.32.0

# benchstat for `make bench-compare` (golang.org/x/perf has no tags).
BENCHSTAT_VERSION          := v0.0.0-20260908200009-22c9c6c9d4da

# Jaeger v2 for `make test-jaeger` (built from source: about 11 minutes and
# 2.2 GB of memory, a 121 MB binary).
JAEGER_VERSION             := v1.76.0

TOOLS := $(BIN)/buf $(BIN)/protoc-gen-go $(BIN)/protoc-gen-go-grpc \
         $(BIN)/protoc-gen-grpc-gateway $(BIN)/protoc-gen-openapiv2

GENERATED := $(shell find proto -name '*.pb.go' -o -name '*.pb.gw.go' 2>/dev/null) gateway/openapi/junction.swagger.json

TEST_FLAGS ?= -count=1 -timeout 15m

.PHONY: help
help: ## list the targets
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  %-16s %s\n", $$1, $$2}'

.PHONY: tools
tools: $(TOOLS) ## install the pinned code generators into ./bin

$(BIN)/buf:
	GOBIN=$(BIN) $(GO) install github.com/bufbuild/buf/cmd/buf@$(BUF_VERSION)
$(BIN)/protoc-gen-go:
	GOBIN=$(BIN) $(GO) install google.golang.org/protobuf/cmd/protoc-gen-go@$(PROTOC_GEN_GO_VERSION)
$(BIN)/protoc-gen-go-grpc:
	GOBIN=$(BIN) $(GO) install google.golang.org/grpc/cmd/protoc-gen-go-grpc@$(PROTOC_GEN_GO_GRPC_VERSION)
$(BIN)/protoc-gen-grpc-gateway:
	GOBIN=$(BIN) $(GO) install github.com/grpc-ecosystem/grpc-gateway/v2/protoc-gen-grpc-gateway@$(GRPC_GATEWAY_VERSION)
$(BIN)/protoc-gen-openapiv2:
	GOBIN=$(BIN) $(GO) install github.com/grpc-ecosystem/grpc-gateway/v2/protoc-gen-openapiv2@$(GRPC_GATEWAY_VERSION)

.PHONY: generate
generate: tools ## regenerate Go code and OpenAPI from proto/ (the only writer of generated files)
	rm -f $(GENERATED)
	$(BIN)/buf generate

.PHONY: check-generate
check-generate: generate ## fail if regeneration changes any committed file
	@if [ -n "$$(git status --porcelain -- proto gateway/openapi)" ]; then \
	  echo "generated code is stale or hand-edited; run 'make generate' and commit:"; \
	  git status --porcelain -- proto gateway/openapi; git diff --stat -- proto gateway/openapi; exit 1; fi
	@echo "generated code is up to date"

.PHONY: lint
lint: tools ## buf lint (STANDARD), buf format, gofmt and go vet on every module
	$(BIN)/buf lint
	$(BIN)/buf format --diff --exit-code proto
	@out=$$(gofmt -l $$(git ls-files '*.go' | grep -v '\.pb\.\(gw\.\)\?go$$')); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	@for m in $(MODULES); do echo "go vet ($$m)"; (cd $$m && $(GO) vet ./...); done

.PHONY: test
# FUZZ_SMOKE is how long `make test` runs each fuzz target beyond its seed
# corpus (0 skips it); `make fuzz` runs them for FUZZTIME.
FUZZ_SMOKE ?= 1s

test: ## run every module's tests against an embedded NATS (no other server needed), then each fuzz target briefly
	@for m in $(MODULES); do echo "== go test ($$m)"; (cd $$m && $(GO) test $(TEST_FLAGS) ./...); done
	@if [ "$(FUZZ_SMOKE)" != "0" ]; then $(MAKE) --no-print-directory fuzz FUZZTIME=$(FUZZ_SMOKE); fi

FUZZTIME ?= 30s

# Every `func FuzzX(` in a *_test.go file of any module, run for FUZZTIME
# each. `make test` already runs every fuzz target on its seed corpus
# (testdata/fuzz/<FuzzX>/ and f.Add) as ordinary tests; this explores
# beyond it. New failing inputs are written to testdata/fuzz/<FuzzX>/:
# fix the bug and commit the input as a regression seed.
.PHONY: fuzz
fuzz: ## run every fuzz target for FUZZTIME (default 30s) each, in every module
	@n=0; for m in $(MODULES); do \
	  for d in $$(cd $$m && $(GO) list -f '{{.Dir}}' ./...); do \
	    for fn in $$(cat $$d/*_test.go 2>/dev/null | sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p'); do \
	      echo "== $$d $$fn ($(FUZZTIME))"; \
	      (cd $$m && $(GO) test -run '^$$' -fuzz "^$$fn\$$" -fuzztime $(FUZZTIME) $$d) || exit 1; \
	      n=$$((n+1)); \
	    done; \
	  done; \
	done; echo "$$n fuzz targets ran for $(FUZZTIME) each"

.PHONY: soak
soak: ## opt-in: SOAK_DURATION (default 1h) of mixed traffic, kills, slow clients and poison routes against serve and a webhook-adapter; asserts 0 lost and a bounded memory curve (docs/soak.md)
	cd cmd/junction && $(GO) test -tags soak -run '^TestSoak$$' -count=1 -v -timeout 0 .

.PHONY: test-modules
test-modules: ## check every module builds on its own (GOWORK=off)
	@for m in $(MODULES); do echo "== GOWORK=off go build ($$m)"; (cd $$m && GOWORK=off $(GO) build ./... && GOWORK=off $(GO) vet ./...); done

.PHONY: build
build: ## build bin/junction and the adapter binaries
	$(GO) build -o $(BIN)/junction ./cmd/junction
	cd adapters && $(GO) build -o $(BIN)/webhook-adapter ./cmd/webhook-adapter

.PHONY: run
run: ## run the hub (embedded NATS, data in ./data) with the example config
	$(GO) run ./cmd/junction serve --config examples/junction.yaml

.PHONY: clean
clean: ## remove ./bin and ./data
	rm -rf $(BIN) ./data

.PHONY: jaeger
jaeger: $(BIN)/jaeger ## build Jaeger v2 ($(JAEGER_VERSION)) into ./bin (about 11 minutes, 2.2 GB memory)

# `go install` refuses Jaeger (its go.mod has replace directives), so build
# it from a writable copy of the downloaded module.
$(BIN)/jaeger:
	@mkdir -p $(BIN)
	@dir=$$(cd / && GOWORK=off GOFLAGS= $(GO) mod download -json github.com/jaegertracing/jaeger@$(JAEGER_VERSION) | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$$/\1/p'); \
	  if [ -z "$$dir" ]; then echo "could not download github.com/jaegertracing/jaeger@$(JAEGER_VERSION)"; exit 1; fi; \
	  tmp=$$(mktemp -d); trap 'chmod -R u+w "$$tmp"; rm -rf "$$tmp"' EXIT; \
	  cp -R "$$dir"/. "$$tmp"/; chmod -R u+w "$$tmp"; \
	  echo "building Jaeger $(JAEGER_VERSION) from $$dir (about 11 minutes)"; \
	  cd "$$tmp" && GOWORK=off GOFLAGS=-mod=mod $(GO) build -o $(BIN)/jaeger.tmp ./cmd/jaeger && mv $(BIN)/jaeger.tmp $(BIN)/jaeger

.PHONY: test-jaeger
test-jaeger: $(BIN)/jaeger ## opt-in: run the hub against a real Jaeger; one webhook must make one trace with adapter, router and delivery spans
	JUNCTION_JAEGER_BIN=$(BIN)/jaeger $(GO) test -count=1 -timeout 5m -run TestJaegerOneTracePerWebhook -v ./cmd/junction

BENCH_FLAGS ?=
BASE       ?= HEAD~1
BENCH_PKGS ?= ./services/router
BENCH_COUNT ?= 6

$(BIN)/benchstat:
	GOBIN=$(BIN) $(GO) install golang.org/x/perf/cmd/benchstat@$(BENCHSTAT_VERSION)

.PHONY: bench-compare
bench-compare: $(BIN)/benchstat ## Go benchmarks of BENCH_PKGS at BASE (default HEAD~1) beside the working tree, compared by benchstat
	dir=$$(mktemp -d); trap 'git worktree remove --force '"$$dir"'/base; rm -rf '"$$dir" EXIT; \
	git worktree add --quiet --detach $$dir/base $(BASE); \
	(cd $$dir/base && $(GO) test -run '^$$' -bench . -benchmem -count $(BENCH_COUNT) $(BENCH_PKGS)) > $$dir/base.txt; \
	$(GO) test -run '^$$' -bench . -benchmem -count $(BENCH_COUNT) $(BENCH_PKGS) > $$dir/new.txt; \
	$(BIN)/benchstat base=$$dir/base.txt new=$$dir/new.txt | tee bench/results/benchstat.txt

.PHONY: bench
bench: build ## benchmarks beside raw JetStream baselines (BENCH_QUICK=1 for a short run); writes bench/results/
	$(GO) build -o $(BIN)/junction-bench ./bench/cmd/junction-bench
	$(BIN)/junction-bench -junction $(BIN)/junction -adapter $(BIN)/webhook-adapter -out bench/results $(BENCH_FLAGS)
