package secretsmanager

// waiting returns how many callers wait for the fetch of key in flight.
func (c *cache[T]) waiting(key string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s := c.slots[key]; s != nil && s.flight != 0 {
		return s.waiters
	}
	return 0
}
