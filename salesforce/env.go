package salesforce

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/dynamokit/dynamo"
)

// The environment variables that FromEnv and FromLookup read.
const (
	EnvSessionID    = "DYNAMO_SF_SESSION_ID"      // a fixed session, with EnvServerURL
	EnvServerURL    = "DYNAMO_SF_SERVER_URL"      // the fixed session's instance URL
	EnvClientID     = "DYNAMO_SF_CLIENT_ID"       // a connected app's consumer key
	EnvUsername     = "DYNAMO_SF_USERNAME"        // JWT bearer: the user
	EnvJWTKeyFile   = "DYNAMO_SF_JWT_KEY_FILE"    // JWT bearer: the PEM file of the private key
	EnvAudience     = "DYNAMO_SF_AUDIENCE"        // JWT bearer: the assertion's aud, when not the login URL
	EnvClientSecret = "DYNAMO_SF_CLIENT_SECRET"   // client credentials: the consumer secret
	EnvLoginURL     = "DYNAMO_SF_LOGIN_URL"       // the login or My Domain URL
	EnvOrg          = "DYNAMO_SF_ORG"             // the Salesforce CLI: an org alias or username
	EnvMaxAge       = "DYNAMO_SF_SESSION_MAX_AGE" // a Go duration, like 10m: WithMaxAge
)

// FromEnv returns the source that the environment names, as the dynamo tool
// does; see FromLookup for the variables and their order.
func FromEnv(opts ...Option) (*Source, error) {
	return FromLookup(os.LookupEnv, opts...)
}

// FromLookup returns the source that the variables read through lookup
// name (an empty value counts as not set). Each source is a complete set of
// variables, and exactly one may be given; the sets, in the order they are
// documented in:
//
//  1. a fixed session: DYNAMO_SF_SESSION_ID and DYNAMO_SF_SERVER_URL, used
//     as they are, never renewed;
//  2. the JWT bearer flow (JWTBearer): DYNAMO_SF_CLIENT_ID,
//     DYNAMO_SF_USERNAME, DYNAMO_SF_JWT_KEY_FILE (the private key's PEM
//     file), DYNAMO_SF_LOGIN_URL (https://login.salesforce.com when not
//     set), and DYNAMO_SF_AUDIENCE when the audience is not the login URL;
//  3. the client credentials flow (ClientCredentials): DYNAMO_SF_CLIENT_ID,
//     DYNAMO_SF_CLIENT_SECRET, and DYNAMO_SF_LOGIN_URL, the org's My Domain
//     URL;
//  4. the Salesforce CLI (CLI): DYNAMO_SF_ORG.
//
// DYNAMO_SF_CLIENT_ID and DYNAMO_SF_LOGIN_URL belong to two sets:
// DYNAMO_SF_JWT_KEY_FILE or DYNAMO_SF_USERNAME makes them the JWT bearer
// flow's, DYNAMO_SF_CLIENT_SECRET the client credentials flow's; without
// either they are an error, not a source left unused. A set with a
// variable missing is an error naming it; variables of two sets are an error
// naming both. None set is an error matching ErrNoCredentials.
//
// DYNAMO_SF_SESSION_MAX_AGE, a Go duration like "10m", sets WithMaxAge;
// options given override it.
func FromLookup(lookup func(string) (string, bool), opts ...Option) (*Source, error) {
	get := func(name string) string {
		v, _ := lookup(name)
		return v
	}
	if raw := get(EnvMaxAge); raw != "" {
		d, err := time.ParseDuration(raw)
		if err != nil || d <= 0 {
			return nil, configErr(fmt.Errorf("salesforce: %s=%q is not a positive Go duration, like 10m", EnvMaxAge, raw))
		}
		opts = append([]Option{WithMaxAge(d)}, opts...)
	}
	sets := []envSet{
		{"a fixed session", []string{EnvSessionID, EnvServerURL}, []string{EnvSessionID, EnvServerURL}},
		{"the JWT bearer flow", []string{EnvJWTKeyFile, EnvUsername, EnvAudience}, []string{EnvClientID, EnvUsername, EnvJWTKeyFile}},
		{"the client credentials flow", []string{EnvClientSecret}, []string{EnvClientID, EnvClientSecret, EnvLoginURL}},
		{"the Salesforce CLI", []string{EnvOrg}, []string{EnvOrg}},
	}
	var given []envSet
	for _, set := range sets {
		if set.given(get) {
			given = append(given, set)
		}
	}
	switch {
	case len(given) > 1:
		return nil, configErr(fmt.Errorf("salesforce: both %s (%s) and %s (%s) are set: set one source only",
			given[0].name, given[0].setNames(get), given[1].name, given[1].setNames(get)))
	case len(given) == 0 && (get(EnvClientID) != "" || get(EnvLoginURL) != ""):
		shared := envSet{marks: []string{EnvClientID, EnvLoginURL}}
		return nil, configErr(fmt.Errorf("salesforce: %s set, but neither %s (the JWT bearer flow) nor %s (the client credentials flow)", shared.setNames(get), EnvJWTKeyFile, EnvClientSecret))
	case len(given) == 0:
		return nil, fmt.Errorf("%w: set %s and %s, or %s, %s and %s (JWT bearer), or %s, %s and %s (client credentials), or %s (the Salesforce CLI)",
			ErrNoCredentials, EnvSessionID, EnvServerURL, EnvClientID, EnvUsername, EnvJWTKeyFile, EnvClientID, EnvClientSecret, EnvLoginURL, EnvOrg)
	}
	set := given[0]
	if missing := set.missing(get); len(missing) > 0 {
		return nil, configErr(fmt.Errorf("salesforce: %s needs %s, which is not set", set.name, strings.Join(missing, " and ")))
	}
	switch set.name {
	case sets[0].name:
		return Fixed(dynamo.Session{ID: get(EnvSessionID), ServerURL: get(EnvServerURL)}, opts...)
	case sets[1].name:
		path := get(EnvJWTKeyFile)
		key, err := os.ReadFile(path)
		if err != nil {
			return nil, configErr(fmt.Errorf("salesforce: %s: %w", EnvJWTKeyFile, err))
		}
		return JWTBearer(JWTConfig{ClientID: get(EnvClientID), Username: get(EnvUsername), PrivateKey: key, LoginURL: get(EnvLoginURL), Audience: get(EnvAudience)}, opts...)
	case sets[2].name:
		return ClientCredentials(ClientCredentialsConfig{ClientID: get(EnvClientID), ClientSecret: get(EnvClientSecret), LoginURL: get(EnvLoginURL)}, opts...)
	default:
		return CLI(get(EnvOrg), opts...)
	}
}

// envSet is one source's variables.
type envSet struct {
	name     string
	marks    []string // any of these set means this source is meant
	required []string
}

func (s envSet) given(get func(string) string) bool {
	for _, name := range s.marks {
		if get(name) != "" {
			return true
		}
	}
	return false
}

func (s envSet) setNames(get func(string) string) string {
	var names []string
	for _, name := range s.marks {
		if get(name) != "" {
			names = append(names, name)
		}
	}
	return strings.Join(names, ", ")
}

func (s envSet) missing(get func(string) string) []string {
	var names []string
	for _, name := range s.required {
		if get(name) == "" {
			names = append(names, name)
		}
	}
	return names
}
