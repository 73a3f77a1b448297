package bolt

import "go.etcd.io/bbolt"

// ExpiryEntriesForTest counts the entries of the expiry index.
func ExpiryEntriesForTest(s *Store) int {
	n := 0
	_ = s.db.View(func(tx *bbolt.Tx) error {
		n = tx.Bucket(bucketExpiries).Stats().KeyN
		return nil
	})
	return n
}
