package dynamotest_test

import (
	"context"
	"io"
	"net"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dynamokit/dynamo"
	"github.com/dynamokit/dynamo/dynamotest"
)

func TestWithListeners(t *testing.T) {
	t.Parallel()
	api, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	storage, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	s := dynamotest.NewServer(dynamotest.WithListeners(api, storage), dynamotest.WithAutoComplete(1), dynamotest.WithResultFiles("Doc"))
	assert.Equal(t, "http://"+api.Addr().String(), s.URL)
	assert.Equal(t, "http://"+storage.Addr().String(), s.StorageURL)

	c := s.Client()
	b, err := dynamo.NewBatch("T").AddTask(dynamo.NewTask("1")).Build()
	require.NoError(t, err)
	resp, err := c.PostBatch(context.Background(), b)
	require.NoError(t, err)
	st, err := c.GetBatchStatus(context.Background(), resp.ID)
	require.NoError(t, err)
	assert.True(t, st.Completed)
	c.CloseIdleConnections()

	s.Close()
	_, err = net.Dial("tcp", api.Addr().String())
	assert.Error(t, err, "Close closes the listener it was given")
}

// A fake listening on every interface (dynamo fake --addr 0.0.0.0:8080) is
// reached on loopback: its URLs, and the signed URLs of its result files,
// name a loopback host, to which the SDK sends credentials over plain HTTP.
func TestWithListenersOnEveryInterface(t *testing.T) {
	t.Parallel()
	api, err := net.Listen("tcp", "0.0.0.0:0")
	require.NoError(t, err)
	storage, err := net.Listen("tcp", ":0")
	require.NoError(t, err)
	s := dynamotest.NewServer(dynamotest.WithListeners(api, storage), dynamotest.WithAutoComplete(1), dynamotest.WithResultFiles("Doc"))
	t.Cleanup(s.Close)
	for _, u := range []string{s.URL, s.StorageURL} {
		parsed, err := url.Parse(u)
		require.NoError(t, err)
		ip := net.ParseIP(parsed.Hostname())
		require.NotNil(t, ip, u)
		assert.True(t, ip.IsLoopback(), "%s names a loopback host", u)
	}

	c := s.Client()
	defer c.CloseIdleConnections()
	b, err := dynamo.NewBatch("T").AddTask(dynamo.NewTask("1")).Build()
	require.NoError(t, err)
	resp, err := c.PostBatch(context.Background(), b)
	require.NoError(t, err)
	st, err := c.GetBatchTaskStatus(context.Background(), resp.ID, resp.TaskIDs[0])
	require.NoError(t, err)
	require.Len(t, st.ResultList, 1)
	n, err := c.DownloadResult(context.Background(), st.ResultList[0], io.Discard)
	require.NoError(t, err)
	assert.Positive(t, n)
}
