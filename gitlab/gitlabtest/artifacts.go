package gitlabtest

import (
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// archive is a job's artifacts archive: the files its artifacts: paths
// matched, kept by path inside the archive (slash-separated, relative to
// the job's directory), as GitLab Runner uploads them. The fake keeps the
// files rather than a zip; size is their sum.
type archive struct {
	files   map[string][]byte
	size    int64
	expires time.Time // zero: never
}

// collectArtifacts gathers what a finished job's artifacts: keyword keeps,
// as GitLab Runner does after the script: nil when the job keeps none
// (no paths, a when: that does not match its result, or no file
// matched). It returns the log section the runner writes for the upload.
func collectArtifacts(dir string, spec ciArtifacts, jobID int64, succeeded bool) (*archive, string) {
	if len(spec.Paths) == 0 {
		return nil, ""
	}
	when := spec.When
	if when == "" {
		when = "on_success"
	}
	name, header := "upload_artifacts_on_success", "Uploading artifacts for successful job"
	if !succeeded {
		name, header = "upload_artifacts_on_failure", "Uploading artifacts for failed job"
	}
	if when != "always" && (when == "on_success") != succeeded {
		return nil, ""
	}
	var log strings.Builder
	log.WriteString(sectionStart(name, header))
	log.WriteString("\x1b[32;1mUploading artifacts..." + ansiReset + "\n")
	a := &archive{files: map[string][]byte{}}
	for _, pattern := range spec.Paths {
		found := 0
		matches, _ := filepath.Glob(filepath.Join(dir, filepath.FromSlash(pattern)))
		for _, m := range matches {
			rel, err := filepath.Rel(dir, m)
			if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
				continue // the runner keeps nothing outside the project directory
			}
			found++
			_ = filepath.WalkDir(m, func(p string, d fs.DirEntry, err error) error {
				if err != nil || d.IsDir() {
					return nil
				}
				b, err := os.ReadFile(p)
				if err != nil {
					return nil
				}
				rel, _ := filepath.Rel(dir, p)
				a.files[filepath.ToSlash(rel)] = b
				return nil
			})
		}
		if found == 0 {
			fmt.Fprintf(&log, "\x1b[0;33mWARNING: %s: no matching files. Ensure that the artifact path is relative to the working directory (%s)%s \n", pattern, dir, ansiReset)
			continue
		}
		fmt.Fprintf(&log, "%s: found %d matching artifact files and directories%s \n", pattern, found, ansiReset)
	}
	if len(a.files) == 0 {
		log.WriteString("\x1b[31;1mERROR: No files to upload                         " + ansiReset + "\n")
		log.WriteString(sectionEnd(name))
		return nil, log.String()
	}
	for _, b := range a.files {
		a.size += int64(len(b))
	}
	a.expires = expiry(spec.ExpireIn, time.Now())
	fmt.Fprintf(&log, "\x1b[32;1mUploading artifacts as \"archive\" to coordinator... 201 Created%s  id=%d responseStatus=201 Created token=glcbt-fake\n", ansiReset, jobID)
	log.WriteString(sectionEnd(name))
	return a, log.String()
}

var expireUnit = regexp.MustCompile(`(\d+)\s*([a-z]+)`)

// expiry is when artifacts kept at now with expire_in expire: zero for
// "never", 30 days (GitLab's instance default) when unset or unreadable.
// It reads what jobs write: "1 day", "2 hrs 30 min", "1 week", or a Go
// duration.
func expiry(expireIn string, now time.Time) time.Time {
	s := strings.ToLower(strings.TrimSpace(expireIn))
	switch s {
	case "never":
		return time.Time{}
	case "":
		return now.Add(30 * 24 * time.Hour)
	}
	if d, err := time.ParseDuration(s); err == nil {
		return now.Add(d)
	}
	units := map[string]time.Duration{"s": time.Second, "sec": time.Second, "second": time.Second,
		"m": time.Minute, "min": time.Minute, "minute": time.Minute, "h": time.Hour, "hr": time.Hour, "hour": time.Hour,
		"d": 24 * time.Hour, "day": 24 * time.Hour, "w": 7 * 24 * time.Hour, "week": 7 * 24 * time.Hour,
		"mo": 30 * 24 * time.Hour, "month": 30 * 24 * time.Hour, "y": 365 * 24 * time.Hour, "year": 365 * 24 * time.Hour}
	var total time.Duration
	for _, m := range expireUnit.FindAllStringSubmatch(s, -1) {
		n, _ := strconv.Atoi(m[1])
		unit, ok := units[strings.TrimSuffix(m[2], "s")]
		if !ok {
			unit, ok = units[m[2]]
		}
		if !ok {
			return now.Add(30 * 24 * time.Hour)
		}
		total += time.Duration(n) * unit
	}
	if total == 0 {
		return now.Add(30 * 24 * time.Hour)
	}
	return now.Add(total)
}

// available reports whether the archive can be downloaded: present and
// not expired (GitLab's build.available_artifacts?).
func (a *archive) available(now time.Time) bool {
	return a != nil && (a.expires.IsZero() || now.Before(a.expires))
}

// artifactsJSON adds a job's artifacts to its JSON as GitLab's Jobs API
// does: "artifacts" lists every artifact of the job (the archive and its
// metadata, and the log once the job finished, which GitLab archives as a
// "trace" artifact), "artifacts_file" is the archive while it can be
// downloaded, "artifacts_expire_at" when it expires.
func artifactsJSON(m map[string]any, j *job) {
	list := []map[string]any{}
	if j.archive != nil {
		list = append(list,
			map[string]any{"file_type": "archive", "size": j.archive.size, "filename": "artifacts.zip", "file_format": "zip"},
			map[string]any{"file_type": "metadata", "size": 64 + 32*len(j.archive.files), "filename": "metadata.gz", "file_format": "gzip"})
		if j.archive.available(time.Now()) {
			m["artifacts_file"] = map[string]any{"filename": "artifacts.zip", "size": j.archive.size}
		}
		if !j.archive.expires.IsZero() {
			m["artifacts_expire_at"] = timeRFC(j.archive.expires)
		}
	}
	if !j.Finished.IsZero() {
		list = append(list, map[string]any{"file_type": "trace", "size": j.trace.Len(), "filename": "job.log", "file_format": "raw"})
	}
	m["artifacts"] = list
	if _, ok := m["artifacts_expire_at"]; !ok {
		m["artifacts_expire_at"] = nil
	}
}

// artifactFile answers GET /projects/:id/jobs/:job_id/artifacts/*artifact_path
// as GitLab does: the file's raw bytes with Workhorse's headers; 404
// {"message":"404 Not Found"} from Rails when the job has no archive (or
// it expired); 400 for a path with a NUL byte or invalid UTF-8; and
// Workhorse's plain-text 404 when the archive lacks the file.
func (s *Server) artifactFile(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	j := s.lookupJob(w, r)
	if j == nil {
		s.mu.Unlock()
		return
	}
	a := j.archive
	s.mu.Unlock()
	if !a.available(time.Now()) {
		apiError(w, http.StatusNotFound, "404 Not Found")
		return
	}
	path := r.PathValue("path")
	if strings.ContainsRune(path, 0) || !utf8.ValidString(path) {
		apiError(w, http.StatusBadRequest, "400 Bad request")
		return
	}
	data, ok := a.files[path] // the archive's files never change once kept
	if !ok {
		http.NotFound(w, r)
		return
	}
	ctype := mime.TypeByExtension(filepath.Ext(path))
	if ctype == "" {
		ctype = "application/octet-stream"
	}
	h := w.Header()
	h.Set("Content-Length", strconv.Itoa(len(data)))
	h.Set("Content-Type", ctype)
	h.Set("Content-Disposition", `attachment; filename="`+strings.ReplaceAll(filepath.Base(path), `"`, `\"`)+`"`)
	_, _ = w.Write(data)
}

// ArtifactFiles returns the paths in the newest job named name's
// artifacts archive, sorted (none when it kept no archive).
func (s *Server) ArtifactFiles(name string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	newest := s.newestJobLocked(name)
	if newest == nil || newest.archive == nil {
		return nil
	}
	var out []string
	for p := range newest.archive.files {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}
