package main

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
)

// locales are the locale column's values, in turn.
var locales = []string{"fi-FI", "en-US", "de-DE", "sv-SE", "fr-FR"}

// writeCSV writes the benchmark's CSV file: a header "id,locale,amount",
// then n records of about 31 bytes, each id unique:
//
//	001000000000042,en-US,10042.42
//
// A file already at path is kept: it was written whole, as the file is
// written under another name and renamed once complete.
func writeCSVFile(path string, n int) error {
	if _, err := os.Stat(path); err == nil {
		return nil
	}
	f, err := os.Create(path + ".part")
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	w.WriteString("id,locale,amount\n")
	var line []byte
	for i := range n {
		line = fmt.Appendf(line[:0], "001%012d,%s,", i, locales[i%len(locales)])
		line = strconv.AppendInt(line, int64(10000+i%90000), 10)
		line = fmt.Appendf(line, ".%02d\n", i%100)
		w.Write(line)
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(path+".part", path)
}
