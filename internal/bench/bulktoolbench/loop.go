package main

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
)

// The hand-written loop: what a programmer writes to post a CSV file in
// batches without the SDK. It reads the file with encoding/csv, makes each
// record a task whose params are the record's columns, and posts every
// 1000 tasks as a JSON batch with net/http, up to concurrency posts in
// flight; it holds only the batches in flight and the one being filled.
// It checks each answer's status and task count, and retries nothing.

const loopBatch = 1000

type loopTask struct {
	Params map[string]string `json:"params"`
}

type loopBody struct {
	Template string     `json:"template"`
	Tasks    []loopTask `json:"tasks"`
}

type loopAnswer struct {
	ID    string   `json:"id"`
	Tasks []string `json:"tasks"`
}

// runLoop posts every record of the CSV file at path to the API at url.
func runLoop(url, path string, concurrency int) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	r := csv.NewReader(bufio.NewReader(f))
	header, err := r.Read()
	if err != nil {
		return fmt.Errorf("reading the header: %w", err)
	}
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: concurrency}}
	slots := make(chan struct{}, concurrency)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var postErr error
	post := func(tasks []loopTask) {
		defer wg.Done()
		defer func() { <-slots }()
		if err := loopPost(hc, url, tasks); err != nil {
			mu.Lock()
			postErr = errors.Join(postErr, err)
			mu.Unlock()
		}
	}
	tasks := make([]loopTask, 0, loopBatch)
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		params := make(map[string]string, len(rec))
		for i, v := range rec {
			params[header[i]] = v
		}
		tasks = append(tasks, loopTask{Params: params})
		if len(tasks) == loopBatch {
			slots <- struct{}{}
			wg.Add(1)
			go post(tasks)
			tasks = make([]loopTask, 0, loopBatch)
		}
	}
	if len(tasks) > 0 {
		slots <- struct{}{}
		wg.Add(1)
		go post(tasks)
	}
	wg.Wait()
	return postErr
}

func loopPost(hc *http.Client, url string, tasks []loopTask) error {
	body, err := json.Marshal(loopBody{Template: "T", Tasks: tasks})
	if err != nil {
		return err
	}
	req, err := http.NewRequest(http.MethodPost, url+"/v1/batch", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("X-Dynamo-Tenant-Id", tenantID)
	req.Header.Set("X-Dynamo-Api-Key", apiKey)
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusAccepted && resp.StatusCode != http.StatusOK {
		return fmt.Errorf("POST /v1/batch: %s: %s", resp.Status, data)
	}
	var a loopAnswer
	if err := json.Unmarshal(data, &a); err != nil {
		return err
	}
	if a.ID == "" || len(a.Tasks) != len(tasks) {
		return fmt.Errorf("POST /v1/batch: %d task IDs for %d tasks", len(a.Tasks), len(tasks))
	}
	return nil
}
