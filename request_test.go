package dynamo_test

import (
	"context"
	"io"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dynamokit/dynamo"
)

// resendProbe is a transport that records whether each request offers
// net/http a way to resend its body on its own.
type resendProbe struct {
	base    http.RoundTripper
	getBody []bool
}

func (p *resendProbe) RoundTrip(req *http.Request) (*http.Response, error) {
	p.getBody = append(p.getBody, req.GetBody != nil)
	return p.base.RoundTrip(req)
}

func TestTransportMayNotResendAPostOnTheWire(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		post func(*dynamo.Client) error
	}{
		{"JSON", func(c *dynamo.Client) error {
			_, err := c.PostBatch(context.Background(), salesforceBatch(2))
			return err
		}},
		{"multipart", func(c *dynamo.Client) error {
			_, err := c.PostBatchWithTemplate(context.Background(), dynamo.TemplateFromBytes("t.dap", []byte("DAP")), embeddedSalesforceBatch(2))
			return err
		}},
		{"task", func(c *dynamo.Client) error { _, err := c.PostTask(context.Background(), salesforceTask()); return err }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			probe := &resendProbe{base: newTransport(t)}
			_, client, _ := newFake(t, dynamo.WithHTTPClient(&http.Client{Transport: probe}))
			require.NoError(t, tc.post(client))
			// Without GetBody, net/http resends a post only while none of
			// its body was read, and follows no 307 or 308.
			assert.Equal(t, []bool{false}, probe.getBody, "a post offers no GetBody")
		})
	}
}

func TestAnAnswerWithTheIDIsASuccessWhateverElseItHolds(t *testing.T) {
	t.Parallel()
	client, mux, _ := setup(t)
	var posts int
	mux.HandleFunc("POST /v1/batch", func(w http.ResponseWriter, r *http.Request) {
		posts++
		w.WriteHeader(http.StatusAccepted)
		io.WriteString(w, `{"id":"b1","tasks":["t1","t2"],"message":"Success","licenseUsage":"2"}`)
	})
	resp, err := client.PostBatch(context.Background(), salesforceBatch(2))
	require.NoError(t, err, "the batch exists: a field of another type does not make it unknown")
	assert.Equal(t, "b1", resp.ID)
	assert.Equal(t, []string{"t1", "t2"}, resp.TaskIDs)
	assert.Equal(t, 1, posts)
}
