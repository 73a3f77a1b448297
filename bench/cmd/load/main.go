// Command load drives load at the project's webhook intake and at a typical Node.js receiver, and runs the
// local-runner load test. See docs/benchmarks.md.
//
//	load peer   [flags]   the project's intake (as `make run` serves it) side by side with bench/peer
//	load runner [flags]   1000 concurrent signups and 10 000 webhooks (10 % duplicates) against the local runner
//	load send   [flags]   send unique signed webhooks to a running intake (make run)
//	load serve  [flags]   (internal) serve the project's intake on a free port for `load peer`
package main

import (
	"fmt"
	"os"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "peer":
		err = cmdPeer(os.Args[2:])
	case "runner":
		err = cmdRunner(os.Args[2:])
	case "send":
		err = cmdSend(os.Args[2:])
	case "serve":
		err = cmdServe(os.Args[2:])
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: load peer|runner|serve [flags]  (load <command> -h lists the flags)")
	os.Exit(2)
}
