#pragma once
// Starting programs from tests (curl, data_service) and stopping them, bounded.

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace halt_test {

/// A child process; killed (SIGKILL) and reaped when destroyed if still running.
class child_process {
public:
    /// Starts `program` (looked up in PATH) with `arguments`. Its output goes to /dev/null unless
    /// `show_output`. running() is false if it could not be started.
    child_process(const std::string& program, std::vector<std::string> arguments, bool show_output = false) {
        std::vector<char*> argv;
        std::string name = program;
        argv.push_back(name.data());
        for (std::string& argument : arguments) argv.push_back(argument.data());
        argv.push_back(nullptr);
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        if (!show_output) {
            posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
            posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
        }
        if (posix_spawnp(&pid_, program.c_str(), &actions, nullptr, argv.data(), environ) != 0) pid_ = -1;
        posix_spawn_file_actions_destroy(&actions);
    }
    child_process(const child_process&) = delete;
    child_process& operator=(const child_process&) = delete;
    ~child_process() {
        if (pid_ > 0 && !status_) {
            ::kill(pid_, SIGKILL);
            int ignored = 0;
            ::waitpid(pid_, &ignored, 0);
        }
    }

    bool running() const noexcept { return pid_ > 0 && !status_; }
    void signal(int number) const noexcept {
        if (running()) ::kill(pid_, number);
    }

    /// Waits at most `limit` for the exit; its exit code (128 + signal if killed by one), or nothing
    /// on timeout.
    std::optional<int> wait_exit(std::chrono::milliseconds limit) {
        if (pid_ <= 0) return -1;
        const auto give_up = std::chrono::steady_clock::now() + limit;
        while (!status_) {
            int status = 0;
            const pid_t done = ::waitpid(pid_, &status, WNOHANG);
            if (done == pid_) {
                status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
                break;
            }
            if (std::chrono::steady_clock::now() > give_up) return std::nullopt;
            std::this_thread::sleep_for(std::chrono::milliseconds(5));  // polling a child; not a test's timing
        }
        return status_;
    }

private:
    pid_t pid_ = -1;
    std::optional<int> status_;
};

/// Runs curl with `arguments` to the end (bounded by 60 s); its exit status, or -1 if it could not run.
inline int run_curl(std::vector<std::string> arguments) {
    child_process curl("curl", std::move(arguments));
    return curl.wait_exit(std::chrono::seconds(60)).value_or(-1);
}

inline bool have_curl() { return run_curl({"--version"}) == 0; }

}  // namespace halt_test
