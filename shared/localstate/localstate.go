// Package localstate owns the local runner's state directory (LOCAL_STATE_DIR, `.local/` by default): one
// embedded database file that the durable store and vault adapters (shared/store/bolt, shared/vault/bolt)
// share, and the vault's key file beside it.
//
// The database is bbolt (go.etcd.io/bbolt), chosen because it is a well-kept pure-Go embedded key/value store
// (the storage engine of etcd): a single file, fully serializable ACID transactions with one writer at a
// time (which gives the adapters their compare-and-set semantics without locks of their own), an fsync per
// commit so that a committed write survives a crash or a SIGKILL, and no C toolchain, so `make run` stays one
// command on a fresh machine. An exclusive file lock on the database keeps a second runner off the
// directory. It is local-development state, never the production path (DynamoDB and Secrets Manager are).
package localstate

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// Files in the state directory.
const (
	// DBFile is the bbolt database: records, webhook state and the encrypted vault entries.
	DBFile = "state.db"
	// KeyFile holds the vault's AES-256 key (32 random bytes, mode 0600), created on first run.
	KeyFile = "vault.key"
)

// DefaultLockTimeout is how long Open waits for another process to release the database.
const DefaultLockTimeout = time.Second

// ErrLocked means another process holds the state directory's database (another `make run`, most likely).
var ErrLocked = errors.New("local state is locked by another process")

// LockedError says which directory is held; it wraps ErrLocked.
type LockedError struct{ Dir string }

func (e *LockedError) Error() string {
	return fmt.Sprintf("another make run (or another process) is using %s: stop it first, or set LOCAL_STATE_DIR to another directory", e.Dir)
}

// Unwrap makes errors.Is(err, ErrLocked) hold.
func (e *LockedError) Unwrap() error { return ErrLocked }

// Options tune Open.
type Options struct {
	// LockTimeout bounds the wait for the file lock (zero: DefaultLockTimeout).
	LockTimeout time.Duration
}

// State is an open state directory.
type State struct {
	// Dir is the state directory.
	Dir string
	// DB is the open database; the adapters share it.
	DB *bbolt.DB
}

// DBPath returns the database file's path in dir.
func DBPath(dir string) string { return filepath.Join(dir, DBFile) }

// KeyPath returns the vault key file's path in dir.
func KeyPath(dir string) string { return filepath.Join(dir, KeyFile) }

// Open creates dir if needed (mode 0700: it holds secrets) and opens its database, waiting at most the lock
// timeout for another process to release it (*LockedError then).
func Open(dir string, opts Options) (*State, error) {
	if dir == "" {
		return nil, errors.New("local state: no directory given")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("local state: creating %s: %w", dir, err)
	}
	timeout := opts.LockTimeout
	if timeout <= 0 {
		timeout = DefaultLockTimeout
	}
	// The freelist is synced with each commit (bbolt's default, unlike etcd's setting): an open then reads
	// one page instead of scanning the whole file, so a start stays in the milliseconds however many
	// onboardings the directory holds (bench: BenchmarkStartDisk).
	db, err := bbolt.Open(DBPath(dir), 0o600, &bbolt.Options{Timeout: timeout, FreelistType: bbolt.FreelistMapType})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, &LockedError{Dir: dir}
	}
	if err != nil {
		return nil, fmt.Errorf("local state: opening %s: %w", DBPath(dir), err)
	}
	return &State{Dir: dir, DB: db}, nil
}

// Close closes the database and releases the lock.
func (s *State) Close() error {
	if err := s.DB.Close(); err != nil {
		return fmt.Errorf("local state: closing %s: %w", DBPath(s.Dir), err)
	}
	return nil
}

// Reset deletes the local state in dir: the database and the vault key, then dir itself if nothing else is
// in it. Only those files are removed, so a LOCAL_STATE_DIR pointed at a directory with other files by
// mistake loses nothing else. It refuses (*LockedError) while a runner holds the database. A directory that
// does not exist is already reset.
func Reset(dir string, opts Options) error {
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if _, err := os.Stat(DBPath(dir)); err == nil {
		// Taking the lock proves no runner is using the state; it is released before the file goes.
		st, err := Open(dir, opts)
		if err != nil {
			return err
		}
		if err := st.Close(); err != nil {
			return err
		}
	}
	for _, name := range []string{DBFile, KeyFile} {
		if err := os.Remove(filepath.Join(dir, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("local state: removing %s: %w", name, err)
		}
	}
	// Other files are left where they are, and so is the directory holding them.
	if entries, err := os.ReadDir(dir); err == nil && len(entries) == 0 {
		if err := os.Remove(dir); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("local state: removing %s: %w", dir, err)
		}
	}
	return nil
}
