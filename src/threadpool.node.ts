// Imported first by the Node entry. Every durable write is an fsync, and libuv runs file system
// calls on a thread pool of 4 by default: with 16 callers creating flows at once, writes queue
// behind each other's fsyncs. The pool is sized before its first use; a setting from the
// environment wins.
import process from "node:process";

process.env.UV_THREADPOOL_SIZE ??= "16";
