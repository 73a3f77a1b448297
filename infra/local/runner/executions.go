package runner

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"go.etcd.io/bbolt"

	"github.com/waes/onboarding/shared/asl/engine"
	"github.com/waes/onboarding/shared/logging"
)

// Buckets of the workflow executions in the state database (disk mode).
var (
	// bucketExecutions maps an execution ARN to its last checkpoint: engine.ExecutionSnapshot as JSON,
	// without the history.
	bucketExecutions = []byte("executions")
	// bucketExecutionEvents holds one nested bucket per execution ARN: the history, event ID (8 bytes,
	// big-endian) to the event as JSON, appended in the transaction of the checkpoint that carried it.
	bucketExecutionEvents = []byte("execution_events")
)

// executionStore keeps the workflow executions in the state database, so that `make run` resumes them
// after a restart (engine.Options.Checkpoint, engine.Engine.Restore).
type executionStore struct {
	db *bbolt.DB
	// afterSave, when set (tests), is called after each checkpoint is committed.
	afterSave func(engine.ExecutionSnapshot)
}

func newExecutionStore(db *bbolt.DB) (*executionStore, error) {
	err := db.Update(func(tx *bbolt.Tx) error {
		for _, b := range [][]byte{bucketExecutions, bucketExecutionEvents} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("local state: creating the execution buckets: %w", err)
	}
	return &executionStore{db: db}, nil
}

func eventKey(id int64) []byte { return binary.BigEndian.AppendUint64(nil, uint64(id)) }

// save commits one checkpoint: the progress replaced and the new history events appended, in one
// transaction, so that a SIGKILL leaves either the checkpoint before or this one.
func (s *executionStore) save(snap engine.ExecutionSnapshot) error {
	events := snap.NewEvents
	snap.NewEvents, snap.FirstEventID = nil, 0
	doc, err := json.Marshal(snap)
	if err != nil {
		return fmt.Errorf("encoding the checkpoint of %s: %w", snap.ExecutionARN, err)
	}
	encoded := make([][]byte, len(events))
	for i, ev := range events {
		if encoded[i], err = json.Marshal(ev); err != nil {
			return fmt.Errorf("encoding event %d of %s: %w", ev.ID, snap.ExecutionARN, err)
		}
	}
	arn := []byte(snap.ExecutionARN)
	err = s.db.Update(func(tx *bbolt.Tx) error {
		if err := tx.Bucket(bucketExecutions).Put(arn, doc); err != nil {
			return err
		}
		if len(events) == 0 {
			return nil
		}
		hist, err := tx.Bucket(bucketExecutionEvents).CreateBucketIfNotExists(arn)
		if err != nil {
			return err
		}
		for i, ev := range events {
			if err := hist.Put(eventKey(ev.ID), encoded[i]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("saving the checkpoint of %s: %w", snap.ExecutionARN, err)
	}
	if s.afterSave != nil {
		s.afterSave(snap)
	}
	return nil
}

// load returns every execution saved, with its history, oldest start first.
func (s *executionStore) load() ([]engine.ExecutionSnapshot, error) {
	var out []engine.ExecutionSnapshot
	err := s.db.View(func(tx *bbolt.Tx) error {
		events := tx.Bucket(bucketExecutionEvents)
		return tx.Bucket(bucketExecutions).ForEach(func(arn, doc []byte) error {
			var snap engine.ExecutionSnapshot
			if err := json.Unmarshal(doc, &snap); err != nil {
				return fmt.Errorf("decoding the checkpoint of %s: %w", arn, err)
			}
			if hist := events.Bucket(arn); hist != nil {
				err := hist.ForEach(func(_, v []byte) error {
					var ev engine.HistoryEvent
					if err := json.Unmarshal(v, &ev); err != nil {
						return fmt.Errorf("decoding the history of %s: %w", arn, err)
					}
					snap.Progress.Events = append(snap.Progress.Events, ev)
					return nil
				})
				if err != nil {
					return err
				}
			}
			out = append(out, snap)
			return nil
		})
	})
	slices.SortStableFunc(out, func(a, b engine.ExecutionSnapshot) int { return a.StartDate.Compare(b.StartDate) })
	return out, err
}

// resumeExecutions restores the executions an earlier run saved: the closed ones stay readable at
// /_local/executions, the running ones carry on. It returns the onboarding ids of the running ones.
func (r *Runner) resumeExecutions(s *executionStore) (map[string]bool, error) {
	saved, err := s.load()
	if err != nil {
		return nil, fmt.Errorf("reading the workflow executions of an earlier run: %w", err)
	}
	running := map[string]bool{}
	for _, snap := range saved {
		if err := r.Engine.Restore(context.Background(), snap); err != nil {
			// One unreadable execution must not keep the runner from starting; its onboarding is failed
			// as an interrupted one (failInterrupted) so that a retry can resume it.
			r.log.Warn("cannot resume a workflow execution of an earlier run", "execution", snap.Name, "error", err.Error())
			continue
		}
		if snap.Progress.Status == engine.StatusRunning {
			running[onboardingIDOf(snap.Name)] = true
			r.log.Info("workflow execution resumed", logging.KeyOnboardingID, onboardingIDOf(snap.Name), "execution", snap.Name,
				"state", snap.Progress.State, "running_for", time.Since(snap.StartDate).Round(time.Millisecond).String())
		}
	}
	return running, nil
}
