package bolt_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/waes/onboarding/shared/localstate"
	"github.com/waes/onboarding/shared/store/bolt"
)

// envKillChild makes the test binary act as the child of TestSIGKILL: it writes records into the state
// directory named by the variable, printing each id once its Create returned, until it is killed.
const envKillChild = "BOLT_KILL_CHILD_DIR"

func TestMain(m *testing.M) {
	if dir := os.Getenv(envKillChild); dir != "" {
		os.Exit(killChild(dir))
	}
	os.Exit(m.Run())
}

func killChild(dir string) int {
	st, err := localstate.Open(dir, localstate.Options{})
	if err != nil {
		fmt.Println("error", err)
		return 1
	}
	s, err := bolt.New(st.DB, bolt.Options{})
	if err != nil {
		fmt.Println("error", err)
		return 1
	}
	for i := 0; ; i++ {
		r := newRecord(fmt.Sprint(1000+i), fmt.Sprint(2000+i), t0)
		if err := s.Create(context.Background(), r); err != nil {
			fmt.Println("error", err)
			return 1
		}
		fmt.Println("created", r.ID)
	}
}

// TestSIGKILL: every record whose Create returned before the process was killed (no Close, no deferred
// cleanup) is there when the directory is opened again, and the lock died with the process.
func TestSIGKILL(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), envKillChild+"="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var created []string
	sc := bufio.NewScanner(out)
	deadline := time.Now().Add(20 * time.Second)
	for len(created) < 20 && sc.Scan() {
		id, ok := strings.CutPrefix(sc.Text(), "created ")
		if !ok {
			t.Fatalf("child: %s", sc.Text())
		}
		created = append(created, id)
		if time.Now().After(deadline) {
			break
		}
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if len(created) == 0 {
		t.Fatal("the child created nothing before it was killed")
	}
	s, _ := open(t, dir)
	for _, id := range created {
		if _, err := s.Get(context.Background(), id); err != nil {
			t.Errorf("record %s, created before the kill: %v", id, err)
		}
	}
}
