# Junction task runner. `make` lists the targets.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

GO      ?= go
BIN     := $(CURDIR)/bin
MODULES := . adapters adapters/sdk proto

# The generators and linters are pinned by two tools modules (`tool`
# directives in go.mod; versions in their go.mod/go.sum) and built from
# source into ./bin by `make tools`, so they work on any OS and CPU Go
# supports. tools/go.mod: protoc-gen-go, protoc-gen-go-grpc,
# protoc-gen-grpc-gateway, protoc-gen-openapiv2, benchstat. tools/buf/go.mod:
# buf and staticcheck (buf needs a newer google.golang.org/protobuf than the
# protoc-gen-go the generated code is pinned to, so they cannot share one
# module). Bump a version with `cd tools && GOWORK=off go get -tool PKG@VERSION`.
# GOWORK=off: the tools modules are not part of go.work, so their
# dependencies never reach the workspace build.
TOOLS_GO := cd $(CURDIR)/tools && GOWORK=off $(GO)
BUF_GO   := cd $(CURDIR)/tools/buf && GOWORK=off $(GO)

# Jaeger v2 for `make test-jaeger` (built from source: about 11 minutes and
# 2.2 GB of memory, a 121 MB binary).
JAEGER_VERSION             := v1.76.0

TOOLS := $(BIN)/buf $(BIN)/staticcheck $(BIN)/protoc-gen-go $(BIN)/protoc-gen-go-grpc \
         $(BIN)/protoc-gen-grpc-gateway $(BIN)/protoc-gen-openapiv2

GENERATED := $(shell find proto -name '*.pb.go' -o -name '*.pb.gw.go' 2>/dev/null) gateway/openapi/junction.swagger.json

TEST_FLAGS ?= -count=1 -timeout 15m

.PHONY: help
help: ## list the targets
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  %-16s %s\n", $$1, $$2}'

.PHONY: tools
tools: $(TOOLS) ## build the pinned generators and linters (tools/go.mod, tools/buf/go.mod) into ./bin

# One rule per binary (no grouped targets: macOS ships make 3.81). Each
# depends on its tools module, so a version bump rebuilds it; `touch`
# because go build leaves an up-to-date binary's time alone.
$(BIN)/buf: tools/buf/go.mod tools/buf/go.sum
	$(BUF_GO) build -o $@ github.com/bufbuild/buf/cmd/buf && touch $@
$(BIN)/staticcheck: tools/buf/go.mod tools/buf/go.sum
	$(BUF_GO) build -o $@ honnef.co/go/tools/cmd/staticcheck && touch $@
$(BIN)/protoc-gen-go: tools/go.mod tools/go.sum
	$(TOOLS_GO) build -o $@ google.golang.org/protobuf/cmd/protoc-gen-go && touch $@
$(BIN)/protoc-gen-go-grpc: tools/go.mod tools/go.sum
	$(TOOLS_GO) build -o $@ google.golang.org/grpc/cmd/protoc-gen-go-grpc && touch $@
$(BIN)/protoc-gen-grpc-gateway: tools/go.mod tools/go.sum
	$(TOOLS_GO) build -o $@ github.com/grpc-ecosystem/grpc-gateway/v2/protoc-gen-grpc-gateway && touch $@
$(BIN)/protoc-gen-openapiv2: tools/go.mod tools/go.sum
	$(TOOLS_GO) build -o $@ github.com/grpc-ecosystem/grpc-gateway/v2/protoc-gen-openapiv2 && touch $@

.PHONY: generate
generate: tools ## regenerate Go code and OpenAPI from proto/ (the only writer of generated files)
	rm -f $(GENERATED)
	$(BIN)/buf generate
	$(GO) run ./gateway/internal/openapigen gateway/openapi/junction.swagger.json gateway/openapi/http.swagger.json

.PHONY: check-generate
check-generate: generate ## fail if regeneration changes any committed file
	@if [ -n "$$(git status --porcelain -- proto gateway/openapi)" ]; then \
	  echo "generated code is stale or hand-edited; run 'make generate' and commit:"; \
	  git status --porcelain -- proto gateway/openapi; git diff --stat -- proto gateway/openapi; exit 1; fi
	@echo "generated code is up to date"

.PHONY: lint
lint: tools ## buf lint (STANDARD), buf format, gofmt, go vet and staticcheck on every module
	$(BIN)/buf lint
	$(BIN)/buf format --diff --exit-code proto
	@out=$$(gofmt -l $$(git ls-files '*.go' | grep -v '\.pb\.\(gw\.\)\?go$$')); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	@for m in $(MODULES); do echo "go vet ($$m)"; (cd $$m && $(GO) vet ./...); done
	@for m in $(MODULES); do echo "staticcheck ($$m)"; (cd $$m && $(BIN)/staticcheck ./...); done

.PHONY: test
# FUZZ_SMOKE is how much `make test` runs each fuzz target beyond its seed
# corpus (0 skips it); `make fuzz` runs them for FUZZTIME. A count, not a
# duration: with a duration as short as 1s on a loaded machine, gathering
# the baseline coverage can outlast it and `go test -fuzz` fails with
# "context deadline exceeded" although no input failed.
FUZZ_SMOKE ?= 500x

test: ## run every module's tests against an embedded NATS (PostgreSQL tests start a server from its binaries, skipped without), then each fuzz target briefly
	@for m in $(MODULES); do echo "== go test ($$m)"; (cd $$m && $(GO) test $(TEST_FLAGS) ./...); done
	@if [ "$(FUZZ_SMOKE)" != "0" ]; then $(MAKE) --no-print-directory fuzz FUZZTIME=$(FUZZ_SMOKE); fi
	@if [ "$(BENCH_SMOKE)" != "0" ]; then echo "== bench smoke (figures only, nothing asserted)"; \
	  $(MAKE) --no-print-directory bench-smoke || echo "bench smoke did not run to the end (see above); it asserts nothing, the tests above decide"; fi

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
# adapters/sdk requires proto at a released version (docs/releasing.md),
# which may not be tagged yet: each module builds through a copy of its
# go.mod (-modfile) that replaces its siblings with the working tree.
test-modules: ## check every module builds on its own (GOWORK=off)
	@for m in $(MODULES); do echo "== GOWORK=off go build ($$m)"; \
	  tmp=$$(mktemp -d); cp $$m/go.mod $$tmp/go.mod; if [ -f $$m/go.sum ]; then cp $$m/go.sum $$tmp/go.sum; fi; \
	  for s in proto adapters/sdk; do if [ "$$s" != "$$m" ]; then \
	    $(GO) mod edit -replace=github.com/junctionhq/junction/$$s=$(CURDIR)/$$s $$tmp/go.mod; fi; done; \
	  (cd $$m && GOWORK=off $(GO) build -modfile=$$tmp/go.mod ./... && GOWORK=off $(GO) vet -modfile=$$tmp/go.mod ./...) \
	    || { rm -rf $$tmp; exit 1; }; rm -rf $$tmp; done

# The web console (console/): Preact and esbuild from npm, versions pinned
# in console/package.json and console/package-lock.json. Its build,
# console/dist, is committed and embedded in the binary (go:embed), so
# building and running the hub needs no Node; only changing the console
# does. console/console_test.go (in `make test`) checks dist/ was built from
# the committed sources; check-console rebuilds and compares.
CONSOLE_DEPS := console/node_modules/.package-lock.json

$(CONSOLE_DEPS): console/package.json console/package-lock.json
	cd console && npm ci --no-audit --no-fund

.PHONY: console
console: $(CONSOLE_DEPS) ## rebuild the web console (console/src -> console/dist, commit the result)
	cd console && npm run --silent build

.PHONY: check-console
check-console: console ## fail if console/dist differs from a fresh build of console/src
	@if [ -n "$$(git status --porcelain -- console/dist)" ]; then \
	  echo "console/dist is stale or hand-edited; run 'make console' and commit:"; \
	  git status --porcelain -- console/dist; exit 1; fi
	@echo "console/dist matches its sources"

.PHONY: test-console
test-console: $(CONSOLE_DEPS) ## browser test of the console: headless chromium (CHROMIUM, default /usr/bin/chromium) via playwright-core against a real junction serve; screenshots in console/e2e/out
	$(GO) build -o $(BIN)/junction ./cmd/junction
	cd console && JUNCTION_BIN=$(BIN)/junction node --test --test-reporter=spec --test-timeout=300000 e2e/

.PHONY: build
build: ## build bin/junction and the adapter binaries
	$(GO) build -o $(BIN)/junction ./cmd/junction
	cd adapters && for d in cmd/*-adapter; do $(GO) build -o $(BIN)/$$(basename $$d) ./$$d || exit 1; done

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
BENCH_RUN  ?= .
BENCH_TIME ?=
BENCH_OUT  ?= bench/results/benchstat.txt
# The hot-path benchmarks `make test` runs briefly (BENCH_SMOKE=0 skips them).
BENCH_SMOKE ?= 1
BENCH_SMOKE_PKGS ?= ./services/router ./adapters/sdk ./adapters/sdk/platform/natstrace ./adapters/sdk/platform/topology
BENCH_SMOKE_RUN  ?= BenchmarkHandle|BenchmarkSinkDelivery|BenchmarkEvaluate|BenchmarkHTTPHandler|BenchmarkTraceTransport|BenchmarkPublish|BenchmarkParse|BenchmarkMsg
# Empty: the working tree alone, its test binaries cached by the tests just
# run (under a minute). A base commit is compiled from scratch in its own
# worktree, a minute or two more on two busy cores.
BENCH_SMOKE_BASE ?=

$(BIN)/benchstat: tools/go.mod tools/go.sum
	$(TOOLS_GO) build -o $@ golang.org/x/perf/cmd/benchstat && touch $@

.PHONY: bench-compare
bench-compare: $(BIN)/benchstat ## Go benchmarks of BENCH_PKGS (BENCH_RUN, BENCH_TIME) at BASE (default HEAD~1) beside the working tree, compared by benchstat
	@set -e; dir=$$(mktemp -d); \
	base=$${TMPDIR:-/tmp}/junction-bench-base-$$(printf %s "$(CURDIR)" | cksum | cut -d' ' -f1); \
	trap 'git worktree remove --force '"$$base"' 2>/dev/null || true; rm -rf '"$$dir $$base" EXIT; \
	flags="-run ^$$ -bench '$(BENCH_RUN)' -benchmem -count $(BENCH_COUNT) $(if $(BENCH_TIME),-benchtime $(BENCH_TIME))"; \
	if [ -n "$(BASE)" ] && git rev-parse --verify --quiet '$(BASE)^{commit}' >/dev/null; then \
	  git worktree remove --force $$base 2>/dev/null || rm -rf $$base; \
	  git worktree add --force --quiet --detach $$base $(BASE); \
	  (cd $$base && eval $(GO) test $$flags $(BENCH_PKGS)) > $$dir/base.txt; \
	  eval $(GO) test $$flags $(BENCH_PKGS) > $$dir/new.txt; \
	  $(BIN)/benchstat base=$$dir/base.txt new=$$dir/new.txt | tee $(BENCH_OUT); \
	else \
	  if [ -n "$(BASE)" ]; then echo "bench-compare: BASE $(BASE) is not in this clone (shallow?): the working tree alone"; fi; \
	  eval $(GO) test $$flags $(BENCH_PKGS) > $$dir/new.txt; \
	  $(BIN)/benchstat new=$$dir/new.txt | tee $(BENCH_OUT); \
	fi

.PHONY: bench-smoke
bench-smoke: ## the hot-path Go benchmarks (event publish, router event, sink delivery, CEL, message encode and decode) briefly, by bench-compare: figures printed, nothing asserted; BENCH_SMOKE_BASE=HEAD~1 adds that commit beside them
	@start=$$(date +%s); $(MAKE) --no-print-directory bench-compare BASE="$(BENCH_SMOKE_BASE)" BENCH_PKGS="$(BENCH_SMOKE_PKGS)" BENCH_RUN='$(BENCH_SMOKE_RUN)' \
	  BENCH_COUNT=1 BENCH_TIME=200x BENCH_OUT=/dev/null; echo "bench smoke took $$(( $$(date +%s) - start )) s"

.PHONY: bench
bench: build ## benchmarks beside raw JetStream baselines (BENCH_QUICK=1 for a short run); writes bench/results/
	$(GO) build -o $(BIN)/junction-bench ./bench/cmd/junction-bench
	$(BIN)/junction-bench -junction $(BIN)/junction -adapter $(BIN)/webhook-adapter -out bench/results $(BENCH_FLAGS)
	$(MAKE) bench-search $(if $(BENCH_QUICK),SEARCH_EVENTS=100000)

SEARCH_EVENTS ?= 1000000

.PHONY: bench-search
bench-search: ## event search (ListEvents) over SEARCH_EVENTS (default 1,000,000) stored events; writes bench/results/search.txt
	@mkdir -p bench/results
	JUNCTION_SEARCH_EVENTS=$(SEARCH_EVENTS) $(GO) test -run '^$$' -bench EventSearch -benchtime 3x -timeout 60m ./gateway | tee bench/results/search.txt
