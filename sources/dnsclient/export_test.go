package dnsclient

import "time"

// SetNow makes c read the time from now (for cache expiry) instead of
// time.Now. It must be called before first use.
func SetNow(c *Client, now func() time.Time) { c.now = now }

// Queued returns how many attempts wait in line for a slot of a server's
// in-flight window, over all of c's servers.
func Queued(c *Client) int {
	st, err := c.state()
	if err != nil {
		return 0
	}
	n := 0
	for _, u := range st.ups {
		u.mu.Lock()
		n += len(u.queue)
		u.mu.Unlock()
	}
	return n
}
