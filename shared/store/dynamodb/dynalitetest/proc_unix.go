//go:build unix

package dynalitetest

import (
	"os/exec"
	"syscall"
)

// setProcessGroup puts dynalite in a process group of its own, so that killProcessGroup also stops any child
// node may have started.
func setProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

func killProcessGroup(cmd *exec.Cmd) {
	if cmd.Process == nil {
		return
	}
	// The negative pid addresses the group; it fails only if the group is gone already.
	if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); err != nil {
		_ = cmd.Process.Kill()
	}
}
