package dynamotest

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math"
	"net/url"
	"strings"
	"time"
)

// jwtBearer handles grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer. It
// judges the assertion in this order, refusing at the first problem: its form (three
// base64url parts, JSON header and claims), the header's alg (RS256), iss (a
// registered app that has a key), the signature (against that key), aud, exp, and
// sub (a registered user pre-authorised for the app).
func (sf *Salesforce) jwtBearer(form url.Values, rec *TokenRequest) grantResult {
	a, err := parseAssertion(form.Get("assertion"))
	if err != nil {
		return refuse(errInvalidGrant, descInvalidAssertion)
	}
	iss, _ := jsonString(a.claims["iss"])
	sub, _ := jsonString(a.claims["sub"])
	sf.mu.Lock()
	defer sf.mu.Unlock()
	rec.ClientID, rec.Username = iss, sub
	now := sf.cfg.now()

	app, ok := sf.apps[iss]
	if !ok || iss == "" {
		return refuse(errInvalidClientID, descClientIDInvalid)
	}
	if app.key == nil || !a.verify(app.key) {
		return refuse(errInvalidGrant, descInvalidAssertion)
	}
	if aud, ok := jsonString(a.claims["aud"]); !ok || aud != sf.audience() {
		return refuse(errInvalidGrant, descBadAudience)
	}
	exp, ok := numericDate(a.claims["exp"])
	switch {
	case !ok:
		return refuse(errInvalidGrant, descInvalidAssertion)
	case !exp.After(now):
		return refuse(errInvalidGrant, descExpired)
	case exp.Sub(now) > maxAssertionLife:
		return refuse(errInvalidGrant, descExpTooFar)
	}
	return sf.grantTo(app, sub)
}

// assertion is a JWT split into what its verification needs.
type assertion struct {
	signed    string // header and claims, as signed
	signature []byte
	claims    map[string]json.RawMessage
}

var errMalformed = errors.New("malformed assertion")

// parseAssertion splits a compact JWS and checks its form: three parts in unpadded
// base64url, a JSON header whose alg is RS256, and a JSON object of claims.
func parseAssertion(s string) (*assertion, error) {
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		return nil, errMalformed
	}
	dec := base64.RawURLEncoding.Strict()
	rawHeader, err1 := dec.DecodeString(parts[0])
	rawClaims, err2 := dec.DecodeString(parts[1])
	sig, err3 := dec.DecodeString(parts[2])
	if err1 != nil || err2 != nil || err3 != nil || len(sig) == 0 {
		return nil, errMalformed
	}
	header, ok := decodeObject(rawHeader)
	if !ok {
		return nil, errMalformed
	}
	if alg, _ := jsonString(header["alg"]); alg != "RS256" {
		return nil, errMalformed
	}
	claims, ok := decodeObject(rawClaims)
	if !ok {
		return nil, errMalformed
	}
	return &assertion{signed: parts[0] + "." + parts[1], signature: sig, claims: claims}, nil
}

// verify checks the RS256 (RSASSA-PKCS1-v1_5 with SHA-256) signature.
func (a *assertion) verify(key *rsa.PublicKey) bool {
	sum := sha256.Sum256([]byte(a.signed))
	return rsa.VerifyPKCS1v15(key, crypto.SHA256, sum[:], a.signature) == nil
}

// numericDate decodes a JWT NumericDate: seconds since the epoch, a JSON number that
// may have a fraction.
func numericDate(raw json.RawMessage) (time.Time, bool) {
	if len(raw) == 0 || raw[0] == '"' { // a number, not a string that holds one
		return time.Time{}, false
	}
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var n json.Number
	if d.Decode(&n) != nil {
		return time.Time{}, false
	}
	f, err := n.Float64()
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) || f < 0 || f > 1<<40 {
		return time.Time{}, false
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)), true
}
