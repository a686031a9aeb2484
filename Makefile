# Thin wrapper over CMake: `make demo` and `make test` are all a new user needs.
BUILD ?= build
JOBS ?= 2
PYTHON ?= /usr/bin/python3
LIT ?= /usr/lib/llvm-19/build/utils/lit/lit.py
MPIRUN ?= mpirun --allow-run-as-root --oversubscribe

.PHONY: all deps configure build demo test format tidy clean

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

# lit prints its own summary, then ctest runs every test (each lit file and
# each gtest) and prints the closing count.
test: build
	$(PYTHON) $(LIT) -sv $(BUILD)/test
	ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS)

format:
	git ls-files '*.cpp' '*.h' | xargs clang-format-19 -i

# clang-tidy over the sources; GCC-only flags are dropped from the database.
tidy: build
	mkdir -p $(BUILD)/tidy
	sed 's/-fno-lifetime-dse//g' $(BUILD)/compile_commands.json > $(BUILD)/tidy/compile_commands.json
	git ls-files '*.cpp' | xargs clang-tidy-19 -p $(BUILD)/tidy --quiet

clean:
	rm -rf $(BUILD)
