// GET /api/v1/events read with fetch() and a stream reader, not EventSource: an
// EventSource cannot send the Authorization header, and the stream must obey the
// same roles as the rest of the API. On any break it reconnects with the last id
// seen in Last-Event-ID, so the master resumes exactly after it (or starts with a
// stream.gap event when what was missed is no longer retained).

import { authHeaders, refused } from "./api.js";

/** Splits server-sent-event text (in pieces of any size) into events. */
export class SseParser {
  constructor(onEvent) {
    this.onEvent = onEvent;
    this.buffer = "";
    this.reset();
  }

  reset() {
    this.type = "";
    this.data = [];
    this.id = null;
  }

  push(text) {
    this.buffer += text;
    // a trailing "\r" may be the first half of a "\r\n" split between two pieces
    const cut = this.buffer.endsWith("\r") ? this.buffer.length - 1 : this.buffer.length;
    const lines = this.buffer.slice(0, cut).split(/\r\n|\r|\n/);
    this.buffer = lines.pop() + this.buffer.slice(cut);
    for (const line of lines) this.line(line);
  }

  line(line) {
    if (line === "") {
      if (this.data.length) {
        this.onEvent({ type: this.type || "message", data: this.data.join("\n"), id: this.id });
      }
      this.reset();
      return;
    }
    if (line.startsWith(":")) return; // a keep-alive comment
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "event") this.type = value;
    else if (field === "data") this.data.push(value);
    else if (field === "id") this.id = value;
  }
}

const RETRY_FIRST_MS = 500;
const RETRY_MOST_MS = 5000;

/**
 * The events stream, kept open: `onEvent(body)` for each event's JSON data,
 * `onState("live" | "reconnecting" | "stopped")` as the connection comes and goes.
 */
export class EventStream {
  constructor(path, { onEvent, onState }) {
    this.path = path;
    this.onEvent = onEvent;
    this.onState = onState || (() => {});
    this.lastId = null;
    this.controller = null;
    this.stopped = true;
  }

  start() {
    if (!this.stopped) return;
    this.stopped = false;
    this.run();
  }

  stop() {
    this.stopped = true;
    if (this.controller) this.controller.abort();
    this.onState("stopped");
  }

  async run() {
    let wait = RETRY_FIRST_MS;
    while (!this.stopped) {
      this.controller = new AbortController();
      try {
        await this.read(this.controller.signal, () => {
          wait = RETRY_FIRST_MS;
        });
      } catch (error) {
        if (error && error.status === 401) {
          this.stopped = true;
          this.onState("stopped");
          return;
        }
      }
      if (this.stopped) return;
      this.onState("reconnecting");
      await new Promise((resolve) => setTimeout(resolve, wait));
      wait = Math.min(wait * 2, RETRY_MOST_MS);
    }
  }

  async read(signal, opened) {
    const headers = authHeaders({ Accept: "text/event-stream" });
    if (this.lastId !== null) headers["Last-Event-ID"] = this.lastId;
    const response = await fetch(this.path, { headers, signal, cache: "no-store" });
    if (!response.ok) throw await refused(response);
    opened();
    this.onState("live");
    const parser = new SseParser((event) => {
      if (event.id) this.lastId = event.id;
      let body;
      try {
        body = JSON.parse(event.data);
      } catch {
        return;
      }
      this.onEvent(body);
    });
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      parser.push(value);
    }
  }
}

/** Listeners of the page's one stream: views subscribe while they are shown. */
export class Bus {
  constructor() {
    this.listeners = new Set();
  }

  /** Calls `fn(event)` for every event until the returned function is called. */
  on(fn) {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  emit(event) {
    for (const fn of [...this.listeners]) {
      try {
        fn(event);
      } catch (error) {
        console.error("an event listener failed", error);
      }
    }
  }
}
