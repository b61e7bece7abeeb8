package dynamotest_test

import (
	"context"
	"net"
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
