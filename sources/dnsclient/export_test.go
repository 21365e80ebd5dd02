package dnsclient

import "time"

// SetNow makes c read the time from now (for cache expiry) instead of
// time.Now. It must be called before first use.
func SetNow(c *Client, now func() time.Time) { c.now = now }
