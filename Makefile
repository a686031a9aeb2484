# Thin wrapper over CMake: `make demo` and `make test` are all a new user needs.
BUILD ?= build
JOBS ?= 2
PYTHON ?= /usr/bin/python3
LIT ?= /usr/lib/llvm-19/build/utils/lit/lit.py
MPIRUN ?= mpirun --allow-run-as-root --oversubscribe
ASAN_BUILD ?= build-asan
# The tests that launch ranks with mpirun.
MPI_TESTS ?= mpi\.communicator|expert-parallel|signals-mpi

.PHONY: all deps configure build demo test sanitize-build sanitize fuzz format tidy clean

all: build

deps:
	scripts/install-deps.sh

configure: deps
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release \
	  -DMLIR_DIR=/usr/lib/llvm-19/lib/cmake/mlir

build: configure
	cmake --build $(BUILD) -j $(JOBS)

# Compiles the tiny example and trains it on the bundled corpus: 300 steps
# on one CPU, logging every 25, validating every 100, then a checkpoint and
# the loss / expert-load plot under $(BUILD)/tiny-run; then again on two
# ranks under mpirun, each holding half of the experts (ep = 2).
demo: build
	$(BUILD)/bin/moe-preprocess --input examples/corpus/tiny.jsonl \
	  --output-prefix $(BUILD)/corpus/tiny --append-eod
	$(BUILD)/bin/moe-compile examples/tiny.yaml --summary
	$(BUILD)/bin/moe-compile examples/tiny.yaml --emit=plan -o $(BUILD)/tiny.plan
	$(BUILD)/bin/moe-run $(BUILD)/tiny.plan --data $(BUILD)/corpus/tiny_text_document \
	  --train-iters 300 --log-interval 25 --eval-interval 100 --eval-iters 4 \
	  --save $(BUILD)/tiny-run --metrics-jsonl $(BUILD)/tiny-run/metrics.jsonl
	$(BUILD)/bin/moe-compile examples/tiny.yaml --expert-model-parallel-size 2 \
	  --global-batch-size 8 --world-size 2 --emit=plan -o $(BUILD)/tiny-ep2.plan
	$(MPIRUN) -np 2 $(BUILD)/bin/moe-run $(BUILD)/tiny-ep2.plan \
	  --data $(BUILD)/corpus/tiny_text_document --train-iters 300 --log-interval 100 \
	  --eval-interval 300 --eval-iters 4 --save $(BUILD)/tiny-ep2-run

# ctest runs every test once (each lit file, each gtest, the MPI suite) and
# prints the closing count; `cmake --build $(BUILD) --target check-lit` runs
# the lit files alone with lit's own summary.
test: build
	ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS)

# The compiler and runtime built by clang with AddressSanitizer, UBSan and
# libFuzzer coverage (-O1, asserts on, line tables for the reports), then
# their tests run under them: any report fails.
sanitize-build: deps
	CC=clang-19 CXX=clang++-19 cmake -S . -B $(ASAN_BUILD) -G Ninja \
	  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMLIR_DIR=/usr/lib/llvm-19/lib/cmake/mlir \
	  -DCMAKE_C_FLAGS_RELWITHDEBINFO='-O1 -gline-tables-only' \
	  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO='-O1 -gline-tables-only' \
	  -DMOE_SANITIZE=address,undefined -DMOE_FUZZ=ON
	cmake --build $(ASAN_BUILD) -j $(JOBS)

# The tests that launch MPI ranks run without LeakSanitizer: OpenMPI's
# plugins keep allocations until exit and are unloaded before it reports, so
# no suppression can name them.
sanitize: sanitize-build
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  LSAN_OPTIONS=suppressions=$(CURDIR)/scripts/lsan.supp:print_suppressions=0 \
	  UBSAN_OPTIONS=print_stacktrace=1 \
	  ctest --test-dir $(ASAN_BUILD) --output-on-failure -j $(JOBS) \
	  -LE 'fuzz|lint' -E '$(MPI_TESTS)'
	ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  ctest --test-dir $(ASAN_BUILD) --output-on-failure -j $(JOBS) -R '$(MPI_TESTS)'

# Each libFuzzer target for MOE_FUZZ_SECONDS (60), two at a time.
fuzz: sanitize-build
	LSAN_OPTIONS=suppressions=$(CURDIR)/scripts/lsan.supp:print_suppressions=0 \
	  ctest --test-dir $(ASAN_BUILD) --output-on-failure -j $(JOBS) -L fuzz

format:
	git ls-files '*.cpp' '*.h' | xargs clang-format-19 -i

# clang-tidy over the sources; GCC-only flags are dropped from the database.
tidy: build
	mkdir -p $(BUILD)/tidy
	sed 's/-fno-lifetime-dse//g' $(BUILD)/compile_commands.json > $(BUILD)/tidy/compile_commands.json
	git ls-files '*.cpp' | xargs clang-tidy-19 -p $(BUILD)/tidy --quiet

clean:
	rm -rf $(BUILD)
