package dynamotest

import (
	"crypto/rand"
	"fmt"
	"sort"
	"time"
)

// sfSession is a session the fake issued; every access holds Salesforce.mu.
type sfSession struct {
	username string
	clientID string
	grant    string
	issuedAt time.Time
	seq      int         // the order of issue, which one instant of the clock does not tell
	uses     []time.Time // issuance and every use, in order of time
}

// aliveAt reports whether the session was live at t: its last use at or before t
// lies less than timeout before t.
func (s *sfSession) aliveAt(t time.Time, timeout time.Duration) bool {
	i := sort.Search(len(s.uses), func(i int) bool { return s.uses[i].After(t) })
	return i > 0 && t.Sub(s.uses[i-1]) < timeout
}

// use notes a use at t, which may lie before other uses already noted.
func (s *sfSession) use(t time.Time) {
	i := sort.Search(len(s.uses), func(i int) bool { return !s.uses[i].Before(t) })
	if i < len(s.uses) && s.uses[i].Equal(t) {
		return
	}
	s.uses = append(s.uses, time.Time{})
	copy(s.uses[i+1:], s.uses[i:])
	s.uses[i] = t
}

func (s *sfSession) lastUse() time.Time { return s.uses[len(s.uses)-1] }

// SalesforceSession describes a session the fake issued. It never holds the
// session ID, which is a secret.
type SalesforceSession struct {
	// Username is the user the session belongs to.
	Username string
	// ClientID is the consumer key of the app it was issued to.
	ClientID string
	// GrantType is the grant_type of the token request that issued it.
	GrantType string
	// IssuedAt is the fake clock's time of issue.
	IssuedAt time.Time
	// LastUsed is the latest time it was used (issuance counts as a use).
	LastUsed time.Time
	// Expired reports whether, at the fake clock's time of the call, the session
	// had been unused for its timeout or longer.
	Expired bool
}

func (sf *Salesforce) describe(s *sfSession, now time.Time) SalesforceSession {
	return SalesforceSession{
		Username:  s.username,
		ClientID:  s.clientID,
		GrantType: s.grant,
		IssuedAt:  s.issuedAt,
		LastUsed:  s.lastUse(),
		Expired:   !s.aliveAt(now, sf.cfg.sessionTimeout),
	}
}

// Sessions returns every session the fake issued, in order of issue.
func (sf *Salesforce) Sessions() []SalesforceSession {
	sf.mu.Lock()
	defer sf.mu.Unlock()
	now := sf.cfg.now()
	issued := make([]*sfSession, 0, len(sf.sessions))
	for _, s := range sf.sessions {
		issued = append(issued, s)
	}
	sort.Slice(issued, func(i, j int) bool { return issued[i].seq < issued[j].seq })
	out := make([]SalesforceSession, len(issued))
	for i, s := range issued {
		out[i] = sf.describe(s, now)
	}
	return out
}

// Session describes the session with the given ID; ok is false if the fake did not
// issue it.
func (sf *Salesforce) Session(sessionID string) (s SalesforceSession, ok bool) {
	sf.mu.Lock()
	defer sf.mu.Unlock()
	ss, ok := sf.sessions[sessionID]
	if !ok {
		return SalesforceSession{}, false
	}
	return sf.describe(ss, sf.cfg.now()), true
}

// UseSession uses the session as an API call to Salesforce would, at the fake
// clock's time: it reports whether the session is live and, if so, starts its
// inactivity timeout again. A session the fake did not issue is not live.
func (sf *Salesforce) UseSession(sessionID string) bool {
	return sf.useAt(sessionID, sf.cfg.now())
}

// useAt uses the session at t: false if it was not live then.
func (sf *Salesforce) useAt(sessionID string, t time.Time) bool {
	sf.mu.Lock()
	defer sf.mu.Unlock()
	s, ok := sf.sessions[sessionID]
	if !ok || !s.aliveAt(t, sf.cfg.sessionTimeout) {
		return false
	}
	s.use(t)
	return true
}

// newSessionID mints a session ID of the org: its 15-character ID, "!", and random
// characters of the alphabet Salesforce's session IDs use; sf.mu is held.
func (sf *Salesforce) newSessionID() string {
	for {
		id := sf.OrgID[:15] + "!AQ" + randomToken(94)
		if _, taken := sf.sessions[id]; !taken {
			return id
		}
	}
}

// tokenAlphabet holds the characters of Salesforce's session IDs and refresh tokens.
const tokenAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._"

// randomToken returns n random characters of tokenAlphabet.
func randomToken(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("dynamotest: reading random bytes: %v", err))
	}
	for i := range b {
		b[i] = tokenAlphabet[int(b[i])%len(tokenAlphabet)]
	}
	return string(b)
}

// isOrgID reports whether s is a 15- or 18-character Salesforce org ID.
func isOrgID(s string) bool {
	if (len(s) != 15 && len(s) != 18) || s[:3] != "00D" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z') {
			return false
		}
	}
	return true
}

// orgID18 returns the 18-character form of an org ID; an 18-character one as given.
func orgID18(id string) string {
	if len(id) == 18 {
		return id
	}
	return id + idChecksum(id)
}

// idChecksum computes the 3 characters that make a 15-character Salesforce ID
// case-insensitive: for each 5 characters, a bit for every upper-case letter.
func idChecksum(id15 string) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
	var out [3]byte
	for i := range out {
		n := 0
		for j := 0; j < 5; j++ {
			if c := id15[i*5+j]; 'A' <= c && c <= 'Z' {
				n |= 1 << j
			}
		}
		out[i] = alphabet[n]
	}
	return string(out[:])
}

// sessionOrg returns the 15-character org ID a session ID starts with; ok is false
// if it does not start with one and "!".
func sessionOrg(sessionID string) (string, bool) {
	if len(sessionID) < 16 || sessionID[15] != '!' || !isOrgID(sessionID[:15]) {
		return "", false
	}
	return sessionID[:15], true
}
