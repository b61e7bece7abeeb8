package dynamotest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// The first path segment of each kind of result file on the storage host.
const (
	batchFiles = "files"
	taskFiles  = "tasks"
)

// A result URL carries a query in the form of an S3 presigned URL. Only the fake can
// sign one: the signature is an HMAC, with a key new for every server, of the file's
// path and of the other signed parameters, so a URL whose date or lifetime was
// edited is refused like one with a wrong signature.
const (
	signAlgorithm  = "AWS4-HMAC-SHA256"
	signAccessKey  = "AKIADYNAMOTESTFAKE00"
	signScope      = "eu-west-1/s3/aws4_request"
	signHeaders    = "host"
	signDateLayout = "20060102T150405Z"
	// urlLifetime is how long a result URL stays valid after the status read that
	// handed it out: the vendor documents about one hour.
	urlLifetime = time.Hour
)

func batchFilePath(batchID, taskID, resultID string) string {
	return "/" + batchFiles + "/" + url.PathEscape(batchID) + "/" + url.PathEscape(taskID) + "/" + url.PathEscape(resultID)
}

func taskFilePath(taskID, resultID string) string {
	return "/" + taskFiles + "/" + url.PathEscape(taskID) + "/" + url.PathEscape(resultID)
}

// signedURL returns the storage host's URL for path, signed at now.
func (s *Server) signedURL(path string, now time.Time) string {
	now = now.UTC()
	q := url.Values{
		"X-Amz-Algorithm":     {signAlgorithm},
		"X-Amz-Credential":    {signAccessKey + "/" + now.Format("20060102") + "/" + signScope},
		"X-Amz-Date":          {now.Format(signDateLayout)},
		"X-Amz-Expires":       {strconv.Itoa(int(urlLifetime / time.Second))},
		"X-Amz-SignedHeaders": {signHeaders},
	}
	q.Set("X-Amz-Signature", s.signature(path, q))
	return s.StorageURL + path + "?" + q.Encode()
}

func (s *Server) signature(path string, q url.Values) string {
	mac := hmac.New(sha256.New, s.signingKey)
	for _, part := range []string{path, q.Get("X-Amz-Algorithm"), q.Get("X-Amz-Credential"),
		q.Get("X-Amz-Date"), q.Get("X-Amz-Expires"), q.Get("X-Amz-SignedHeaders")} {
		mac.Write([]byte(part))
		mac.Write([]byte{'\n'})
	}
	return hex.EncodeToString(mac.Sum(nil))
}

// checkSignature refuses a request for path whose query is not a signature the fake
// made, or one that expired before now.
func (s *Server) checkSignature(r *http.Request, path string, now time.Time) *reply {
	q := r.URL.Query()
	got := q.Get("X-Amz-Signature")
	if got == "" {
		return storageError(http.StatusForbidden, "AccessDenied", "Access Denied")
	}
	if !hmac.Equal([]byte(got), []byte(s.signature(path, q))) {
		return storageError(http.StatusForbidden, "SignatureDoesNotMatch",
			"The request signature we calculated does not match the signature you provided. Check your key and signing method.")
	}
	// Both were signed by the fake, so they parse.
	signedAt, _ := time.Parse(signDateLayout, q.Get("X-Amz-Date"))
	seconds, _ := strconv.Atoi(q.Get("X-Amz-Expires"))
	if now.After(signedAt.Add(time.Duration(seconds) * time.Second)) {
		return storageError(http.StatusForbidden, "AccessDenied", "Request has expired")
	}
	return nil
}

func (s *Server) downloadBatchFile(_ *exchange, r *http.Request) *reply {
	batchID, taskID, resultID := r.PathValue("batchId"), r.PathValue("taskId"), r.PathValue("resultId")
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.cfg.now()
	if rep := s.checkSignature(r, batchFilePath(batchID, taskID, resultID), now); rep != nil {
		return rep
	}
	if b, ok := s.batchIndex[batchID]; ok {
		s.settleBatch(b, now)
		if t, ok := b.task(taskID); ok {
			if res, ok := t.result(resultID); ok {
				return fileReply(res)
			}
		}
	}
	return noSuchKey()
}

func (s *Server) downloadTaskFile(_ *exchange, r *http.Request) *reply {
	taskID, resultID := r.PathValue("taskId"), r.PathValue("resultId")
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.cfg.now()
	if rep := s.checkSignature(r, taskFilePath(taskID, resultID), now); rep != nil {
		return rep
	}
	if t, ok := s.singleIndex[taskID]; ok {
		s.settleSingle(t, now)
		if res, ok := t.result(resultID); ok {
			return fileReply(res)
		}
	}
	return noSuchKey()
}

func fileReply(res ResultFile) *reply {
	return &reply{
		status: http.StatusOK,
		header: http.Header{"Content-Type": {"application/octet-stream"}},
		body:   append([]byte(nil), res.Content...),
	}
}

func noSuchKey() *reply {
	return storageError(http.StatusNotFound, "NoSuchKey", "The specified key does not exist.")
}

// storageError answers as S3 does: an XML <Error> document with a code and a message.
func storageError(status int, code, message string) *reply {
	var b strings.Builder
	b.WriteString(xml.Header)
	b.WriteString("<Error><Code>")
	_ = xml.EscapeText(&b, []byte(code))
	b.WriteString("</Code><Message>")
	_ = xml.EscapeText(&b, []byte(message))
	b.WriteString("</Message><RequestId>")
	b.WriteString(strings.ToUpper(randomHex(8)))
	b.WriteString("</RequestId></Error>")
	return &reply{
		status: status,
		header: http.Header{"Content-Type": {"application/xml"}},
		body:   []byte(b.String()),
	}
}
