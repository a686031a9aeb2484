//===- TrainingPlot.cpp - the loss and expert-load plot -------------------===//
//
// At the end of a run, the moe-plot script (matplotlib) draws the metrics:
// the whole metrics file when the run writes one, otherwise this run's
// records, piped to it as JSON lines. The script sits beside the moe-run
// executable; the interpreter is $MOE_PYTHON, or the python3 the build found.
//
//===----------------------------------------------------------------------===//

#include "moert/Metrics.h"

#include <fmt/format.h>
#include <fmt/ostream.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

namespace moert {

namespace {

/// moe-plot's exit status when matplotlib is missing.
constexpr int matplotlibMissing = 3;

std::string pythonInterpreter() {
  if (const char *python = std::getenv("MOE_PYTHON"); python && *python)
    return python;
  return MOERT_PYTHON;
}

/// moe-plot beside the running executable.
StatusOr<std::string> plotScript() {
  std::error_code error;
  std::filesystem::path self =
      std::filesystem::read_symlink("/proc/self/exe", error);
  if (error)
    return Status::error("cannot find the running executable: " +
                         error.message());
  std::filesystem::path script = self.parent_path() / "moe-plot";
  if (!std::filesystem::exists(script))
    return Status::error(script.string() + " is missing");
  return script.string();
}

/// Runs `argv` with `input` on its standard input; returns its exit status.
StatusOr<int> runWithInput(const std::vector<std::string> &argv,
                           const std::string &input) {
  int pipeFds[2];
  if (pipe(pipeFds) != 0)
    return Status::error(std::string("pipe: ") + std::strerror(errno));
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pipeFds[0], STDIN_FILENO);
  posix_spawn_file_actions_addclose(&actions, pipeFds[1]);
  std::vector<char *> args;
  for (const std::string &arg : argv)
    args.push_back(const_cast<char *>(arg.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  int spawned =
      posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(pipeFds[0]);
  if (spawned != 0) {
    close(pipeFds[1]);
    return Status::error(
        fmt::format("cannot run {}: {}", argv[0], std::strerror(spawned)));
  }
  // The script may exit before reading everything (a bad interpreter):
  // a broken pipe is then an error status, not a signal.
  auto previous = std::signal(SIGPIPE, SIG_IGN);
  for (size_t done = 0; done < input.size();) {
    ssize_t wrote = write(pipeFds[1], input.data() + done, input.size() - done);
    if (wrote <= 0)
      break;
    done += static_cast<size_t>(wrote);
  }
  close(pipeFds[1]);
  std::signal(SIGPIPE, previous);
  int status = 0;
  if (waitpid(pid, &status, 0) < 0)
    return Status::error(std::string("waitpid: ") + std::strerror(errno));
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

class TrainingPlot final : public MetricsSink {
public:
  TrainingPlot(std::string png, std::string jsonl, std::ostream &out)
      : png(std::move(png)), jsonl(std::move(jsonl)), out(out) {}

  Status onLog(const StepRecord &interval) override {
    rows += stepJson(interval).dump() + "\n";
    return Status();
  }
  Status onValidation(int64_t step, const EvalResult &eval) override {
    rows += validationJson(step, eval).dump() + "\n";
    return Status();
  }

  Status end() override {
    if (rows.empty())
      return Status();
    StatusOr<std::string> script = plotScript();
    if (!script.ok())
      return script.status().within("cannot draw " + png);
    std::filesystem::path parent = std::filesystem::path(png).parent_path();
    std::error_code error;
    if (!parent.empty())
      std::filesystem::create_directories(parent, error);
    std::vector<std::string> argv = {pythonInterpreter(), *script,
                                     jsonl.empty() ? "-" : jsonl, "-o", png};
    StatusOr<int> exit = runWithInput(argv, jsonl.empty() ? rows : "");
    if (!exit.ok())
      return exit.status().within("cannot draw " + png);
    if (*exit == matplotlibMissing) {
      fmt::print(out, "Plot: not drawn, matplotlib is missing\n");
      return Status();
    }
    if (*exit != 0)
      return Status::error(fmt::format(
          "moe-plot failed (exit status {}) drawing {}", *exit, png));
    fmt::print(out, "Plot: {}\n", png);
    return Status();
  }

private:
  std::string png, jsonl;
  std::ostream &out;
  std::string rows; // this run's metrics, as JSON lines
};

} // namespace

std::unique_ptr<MetricsSink> trainingPlot(std::string png, std::string jsonl,
                                          std::ostream &out) {
  return std::make_unique<TrainingPlot>(std::move(png), std::move(jsonl), out);
}

} // namespace moert
