package identity

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"path"
	"strings"
	"sync/atomic"
	"time"
)

// The backup file format: a gzip-compressed tar whose first entry is
// manifest.json (a Manifest), followed by the pub's data directory under
// data/ (only data/secret for a secret-only backup).
const (
	FormatName    = "buttctl-pub-backup"
	FormatVersion = 1
	manifestName  = "manifest.json"
	dataPrefix    = "data/"
)

// Manifest describes a backup. It never holds the secret itself.
type Manifest struct {
	Format  string `json:"format"`  // buttctl-pub-backup
	Version int    `json:"version"` // 1
	Pub     string `json:"pub"`
	Hub     string `json:"hub"`
	// Identity is the pub's SSB id; SecretSHA256 the sha256 of its secret file.
	Identity     string    `json:"identity"`
	SecretSHA256 string    `json:"secret_sha256"`
	CreatedAt    time.Time `json:"created_at"`
	Image        string    `json:"image"`
	DataDir      string    `json:"data_dir"`
	SecretOnly   bool      `json:"secret_only"`
	// Consistency says how the copy was made consistent: "paused" (frozen
	// for the copy, a crash-consistent snapshot), "stopped" (shut down
	// cleanly for the copy), "not running" (it was not running), or
	// "secret only" (the secret never changes: the pub kept running).
	Consistency string `json:"consistency"`
	Buttctl     string `json:"buttctl,omitempty"`
}

// secretTap hashes the secret file of a data archive as it goes by.
type secretTap struct {
	seen bool
	sum  string
}

// relName is an archive entry's path relative to the data directory ("" for
// the directory itself), refusing absolute paths and paths that leave it.
func relName(name string) (string, error) {
	rest := strings.TrimPrefix(name, "./")
	if rest == "" || rest == "." {
		return "", nil
	}
	clean := path.Clean(rest)
	if path.IsAbs(rest) || clean == ".." || strings.HasPrefix(clean, "../") {
		return "", fmt.Errorf("archive entry %q leaves the data directory", truncate(name, 80))
	}
	if clean == "." {
		return "", nil
	}
	if strings.HasSuffix(rest, "/") {
		clean += "/"
	}
	return clean, nil
}

// dataName maps an entry of an engine's archive of the data directory
// ("./x", or "x" for a single file) to its name in a backup (data/x).
func dataName(name string) (string, error) {
	rel, err := relName(name)
	return dataPrefix + rel, err
}

// engineName maps an entry of a backup (data/x) to its name in an archive
// written at the data directory (./x).
func engineName(name string) (string, error) {
	rest, ok := strings.CutPrefix(name, dataPrefix)
	if !ok && name != "data" {
		return "", fmt.Errorf("the backup has an entry outside data/: %q", truncate(name, 80))
	}
	rel, err := relName(rest)
	return "./" + rel, err
}

// WriteBackup writes the backup of m and data (an engine's tar archive of
// the data directory, or of its secret file alone) to w. It fails, and the
// backup is not complete, if data holds no secret file or one whose sha256
// is not m.SecretSHA256. It returns the bytes of data read.
func WriteBackup(w io.Writer, m Manifest, data io.Reader) (int64, error) {
	m.Format, m.Version = FormatName, FormatVersion
	gz, err := gzip.NewWriterLevel(w, gzip.BestSpeed)
	if err != nil {
		return 0, err
	}
	tw := tar.NewWriter(gz)
	mb, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return 0, err
	}
	mb = append(mb, '\n')
	if err := tw.WriteHeader(&tar.Header{Name: manifestName, Mode: 0o600, Size: int64(len(mb)), ModTime: m.CreatedAt, Typeflag: tar.TypeReg, Format: tar.FormatPAX}); err != nil {
		return 0, err
	}
	if _, err := tw.Write(mb); err != nil {
		return 0, err
	}
	counted := &countingReader{r: data}
	tap, err := rewrite(tar.NewReader(counted), tw, dataName)
	if err != nil {
		return counted.N(), err
	}
	if !tap.seen {
		return counted.N(), errors.New("the data directory has no secret file")
	}
	if tap.sum != m.SecretSHA256 {
		return counted.N(), errors.New("the secret file changed while it was copied")
	}
	if err := tw.Close(); err != nil {
		return counted.N(), err
	}
	return counted.N(), gz.Close()
}

// rewrite copies every entry of tr to tw under rename's name, and hashes
// the secret file (data/secret, or ./secret) on the way.
func rewrite(tr *tar.Reader, tw *tar.Writer, rename func(string) (string, error)) (secretTap, error) {
	var tap secretTap
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return tap, nil
		}
		if err != nil {
			return tap, fmt.Errorf("reading the data archive: %w", err)
		}
		name, err := rename(h.Name)
		if err != nil {
			return tap, err
		}
		if h.Typeflag == tar.TypeLink {
			if h.Linkname, err = rename(h.Linkname); err != nil {
				return tap, err
			}
		}
		isSecret := h.Typeflag == tar.TypeReg && (name == dataPrefix+SecretFile || name == "./"+SecretFile)
		h.Name = name
		if err := tw.WriteHeader(h); err != nil {
			return tap, err
		}
		var sum hash.Hash
		var dst io.Writer = tw
		if isSecret {
			sum = sha256.New()
			dst = io.MultiWriter(tw, sum)
		}
		if _, err := io.Copy(dst, tr); err != nil {
			return tap, fmt.Errorf("reading the data archive: %w", err)
		}
		if isSecret {
			tap.seen, tap.sum = true, hex.EncodeToString(sum.Sum(nil))
		}
	}
}

// BackupFile is an open backup file: its manifest, then its data.
type BackupFile struct {
	Manifest Manifest
	tr       *tar.Reader
	gz       *gzip.Reader
}

// OpenBackup reads the manifest at the start of a backup stream.
func OpenBackup(r io.Reader) (*BackupFile, error) {
	gz, err := gzip.NewReader(r)
	if err != nil {
		return nil, fmt.Errorf("not a buttctl backup (not gzip: %v)", err)
	}
	tr := tar.NewReader(gz)
	h, err := tr.Next()
	if err != nil || h.Name != manifestName {
		return nil, errors.New("not a buttctl backup (its first entry is not manifest.json)")
	}
	mb, err := io.ReadAll(io.LimitReader(tr, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("reading the backup's manifest: %w", err)
	}
	var m Manifest
	dec := json.NewDecoder(bytes.NewReader(mb))
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("the backup's manifest.json is not JSON: %v", err)
	}
	switch {
	case m.Format != FormatName:
		return nil, fmt.Errorf("not a buttctl backup (manifest format %q)", truncate(m.Format, 40))
	case m.Version != FormatVersion:
		return nil, fmt.Errorf("backup format version %d: this buttctl reads version %d", m.Version, FormatVersion)
	case m.Pub == "" || m.Identity == "" || len(m.SecretSHA256) != 64:
		return nil, errors.New("the backup's manifest lacks its pub, identity or secret_sha256")
	}
	return &BackupFile{Manifest: m, tr: tr, gz: gz}, nil
}

// Data streams the backup's data as an engine's archive of the data
// directory ("./x" entries), to be written at the data directory. The stream
// fails if an entry is not under data/, or if the secret file is missing or
// does not match the manifest; the caller must then discard what it wrote.
func (b *BackupFile) Data() io.ReadCloser {
	pr, pw := io.Pipe()
	go func() {
		tw := tar.NewWriter(pw)
		tap, err := rewrite(b.tr, tw, engineName)
		switch {
		case err != nil:
		case !tap.seen:
			err = errors.New("the backup has no data/secret")
		case tap.sum != b.Manifest.SecretSHA256:
			err = errors.New("the backup's data/secret does not match its manifest's secret_sha256: the file is damaged")
		default:
			err = tw.Close()
		}
		pw.CloseWithError(err)
	}()
	return pr
}

// countingReader counts the bytes read and reports them. The HTTP
// transport may read it from its own goroutine, hence the atomic count.
type countingReader struct {
	r        io.Reader
	n        atomic.Int64
	progress func(int64)
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	total := c.n.Add(int64(n))
	if c.progress != nil && n > 0 {
		c.progress(total)
	}
	return n, err
}

// N is the number of bytes read so far.
func (c *countingReader) N() int64 { return c.n.Load() }

// secretSniffer hashes the secret file of a data archive written through
// it (./secret), in a goroutine that parses the tar stream on the side.
type secretSniffer struct {
	pw   *io.PipeWriter
	done chan string
}

func newSecretSniffer() *secretSniffer {
	pr, pw := io.Pipe()
	s := &secretSniffer{pw: pw, done: make(chan string, 1)}
	go func() {
		tap, err := rewrite(tar.NewReader(pr), tar.NewWriter(io.Discard), func(name string) (string, error) {
			rel, err := relName(name)
			return "./" + rel, err
		})
		// Drain, so that a writer never blocks on a parse that gave up.
		_, _ = io.Copy(io.Discard, pr)
		if err != nil || !tap.seen {
			s.done <- ""
			return
		}
		s.done <- tap.sum
	}()
	return s
}

func (s *secretSniffer) Write(p []byte) (int, error) {
	_, _ = s.pw.Write(p)
	return len(p), nil
}

// Close ends the stream and returns the sha256 of the secret file seen in
// it ("" if there was none, or the archive did not parse).
func (s *secretSniffer) Close() string {
	s.pw.Close()
	return <-s.done
}
