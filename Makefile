# Strata: the two commands a new user needs are `make run` and `make test`.
# Every target installs missing Debian packages first (scripts/install-deps.sh).

BUILD_DIR      ?= build
ASAN_BUILD_DIR ?= build-asan
FUZZ_BUILD_DIR ?= build-fuzz
BUILD_TYPE     ?= RelWithDebInfo
JOBS           ?= $(shell nproc)
PYTHON         := /usr/bin/python3
FUZZ_SECONDS   ?= 60

.PHONY: all deps build run test test-unit test-e2e test-asan test-slow fuzz bench-streams bench-cluster bench-volumes bench-tables bench-clones bench-oltp clean

all: build

deps:
	@bash scripts/install-deps.sh
	@bash scripts/fetch-duckdb.sh

$(BUILD_DIR)/build.ninja: CMakeLists.txt | deps
	cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE)

build: deps $(BUILD_DIR)/build.ninja
	cmake --build $(BUILD_DIR) -j $(JOBS)

run: build
	./$(BUILD_DIR)/strata server --data-dir ./data

test: build
	@bash scripts/run-tests.sh $(BUILD_DIR)

test-unit: build
	ctest --test-dir $(BUILD_DIR) --output-on-failure -j $(JOBS)

test-e2e: build
	STRATA_BIN=$(abspath $(BUILD_DIR))/strata $(PYTHON) -m pytest -q tests/e2e

test-asan: deps
	cmake -S . -B $(ASAN_BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DSTRATA_SANITIZE=ON
	cmake --build $(ASAN_BUILD_DIR) -j $(JOBS)
	@bash scripts/run-tests.sh $(ASAN_BUILD_DIR)

test-slow: build
	@bash scripts/run-slow-tests.sh $(BUILD_DIR)

fuzz: deps
	CC=clang CXX=clang++ cmake -S . -B $(FUZZ_BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSTRATA_FUZZ=ON -DSTRATA_SANITIZE=ON
	cmake --build $(FUZZ_BUILD_DIR) -j $(JOBS) --target fuzz_targets
	@bash scripts/run-fuzzers.sh $(FUZZ_BUILD_DIR) $(FUZZ_SECONDS)

bench-streams: build
	@bash scripts/install-deps.sh --bench
	@bash bench/streams/run.sh

bench-cluster: build
	@bash scripts/install-deps.sh --bench
	@bash bench/cluster/run.sh

bench-volumes: build
	@bash scripts/install-deps.sh --bench
	@bash bench/volumes/run.sh

bench-tables: build
	@bash scripts/install-deps.sh --bench
	@bash bench/tables/run.sh

bench-clones: build
	@bash scripts/install-deps.sh --bench
	@bash bench/clones/run.sh

bench-oltp: build
	@bash scripts/install-deps.sh --bench
	@bash bench/oltp/run.sh

clean:
	rm -rf $(BUILD_DIR) $(ASAN_BUILD_DIR) $(FUZZ_BUILD_DIR) build-bench
