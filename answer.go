package dynamo

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"unicode"
)

// readErrorBody reads the start of an answer that is not a success.
func readErrorBody(r io.Reader) []byte {
	body, _ := io.ReadAll(io.LimitReader(r, maxErrorBody))
	return body
}

// readAnswer reads a success's body, at most maxResponseBody bytes of it.
func readAnswer(resp *http.Response) ([]byte, error) {
	r := io.LimitReader(resp.Body, maxResponseBody+1)
	var data []byte
	var err error
	if n := resp.ContentLength; n >= 0 && n <= maxResponseBody {
		// One allocation, with room to see the end.
		buf := bytes.NewBuffer(make([]byte, 0, n+bytes.MinRead))
		_, err = buf.ReadFrom(r)
		data = buf.Bytes()
	} else {
		data, err = io.ReadAll(r)
	}
	switch {
	case err != nil:
		return data, fmt.Errorf("reading the answer: %w", err)
	case len(data) > maxResponseBody:
		return data, &answerTooLargeError{}
	}
	return data, nil
}

// answerTooLargeError is a success whose body exceeds maxResponseBody.
type answerTooLargeError struct{}

func (*answerTooLargeError) Error() string {
	return fmt.Sprintf("the answer exceeds %d bytes", maxResponseBody)
}

// decodeJSON decodes an answer's body into out.
func decodeJSON(data []byte, out any) error {
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("decoding the answer: %w", err)
	}
	return nil
}

// errorMessage is the server's "message" when the body is JSON with one,
// otherwise the start of the body, on one line without control characters.
// redact is applied to the decoded message, in which JSON escapes may have
// spelled out a secret that the body did not show.
func errorMessage(body []byte, redact func(string) string) string {
	s := string(body)
	var m struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &m) == nil && m.Message != "" {
		s = redact(m.Message)
	}
	return oneLine(s, 200)
}

// oneLine makes s printable on one line of at most about max bytes.
func oneLine(s string, max int) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(s, "?"))
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > max {
		s = strings.ToValidUTF8(s[:max], "") + "…"
	}
	return s
}
