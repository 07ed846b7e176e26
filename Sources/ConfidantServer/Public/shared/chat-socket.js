// The client side of the Confidant protocol (docs/protocol.md): one WebSocket that reconnects by
// itself, resumes every conversation from the last sequence number it saw, and resends messages
// that were not acknowledged yet under the same client id, so nothing is lost or duplicated.

const PROTOCOL = 1;
/** Close codes after which reconnecting cannot help. */
const FATAL = new Set([4400, 4401, 4403]);

/** An error answer from the server, with its stable code. */
export class ServerError extends Error {
  constructor(frame) {
    super(frame.message);
    this.code = frame.code;
    this.conversationId = frame.conversationId;
  }
}

/**
 * Events: `state` (detail: 'connecting' | 'open' | 'reconnecting' | 'closed'), `frame` (every
 * frame from the server), `welcome`, `fatal` (detail: the close code).
 */
export class ChatSocket extends EventTarget {
  /** @param {string} path `/v1/ws/visitor` or `/v1/ws/agent`; @param {() => object} helloFields extra `hello` fields */
  constructor(path, helloFields = () => ({})) {
    super();
    this.url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}${path}`;
    this.helloFields = helloFields;
    this.state = 'connecting';
    this.lastSeq = new Map();
    this.outbox = new Map();
    this.waiting = new Map();
    this.refCounter = 0;
    this.retryDelay = 500;
    this.heartbeatSeconds = 25;
  }

  /** Opens the socket (again). */
  connect() {
    clearTimeout(this.retryTimer);
    this.setState(this.state === 'open' || this.state === 'reconnecting' ? 'reconnecting' : 'connecting');
    const socket = new WebSocket(this.url);
    this.socket = socket;
    socket.addEventListener('open', () => {
      const resume = [...this.lastSeq].map(([conversationId, afterSeq]) => ({ conversationId, afterSeq }));
      socket.send(JSON.stringify({ type: 'hello', protocol: PROTOCOL, ...this.helloFields(), ...(resume.length ? { resume } : {}) }));
    });
    socket.addEventListener('message', (event) => this.receive(event.data));
    socket.addEventListener('close', (event) => this.closed(socket, event.code));
  }

  /** Closes for good. */
  close() {
    this.setState('closed');
    clearTimeout(this.retryTimer);
    clearInterval(this.heartbeat);
    this.socket?.close(1000);
  }

  /** Sends a frame now if open (typing indicators and the like may simply be dropped otherwise). */
  send(frame) {
    if (this.state === 'open') this.socket.send(JSON.stringify(frame));
  }

  /** Sends a frame with a `ref` and resolves with the answer, or rejects with a ServerError. */
  request(frame, timeout = 15000) {
    const ref = `r${++this.refCounter}`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(ref);
        reject(new ServerError({ code: 'timeout', message: 'The server did not answer in time.' }));
      }, timeout);
      this.waiting.set(ref, { resolve, reject, timer });
      if (this.state === 'open') this.socket.send(JSON.stringify({ ...frame, ref }));
      else this.waiting.get(ref).pendingFrame = { ...frame, ref };
    });
  }

  /**
   * Sends a message and resolves with its ack. Until then it stays in the outbox and is resent,
   * with the same client id, after every reconnect; the server stores it once.
   */
  sendMessage(conversationId, body, visibility = 'public') {
    const clientId = crypto.randomUUID();
    const frame = { type: 'message.send', ref: clientId, conversationId, clientId, body, visibility };
    const ack = new Promise((resolve, reject) => this.outbox.set(clientId, { frame, resolve, reject }));
    if (this.state === 'open') this.socket.send(JSON.stringify(frame));
    return { clientId, ack };
  }

  /** Remembers that every entry up to `seq` of a conversation has been seen. */
  track(conversationId, seq) {
    if (seq > (this.lastSeq.get(conversationId) ?? 0)) this.lastSeq.set(conversationId, seq);
  }

  /** Asks for every entry after what was seen (or after `afterSeq`). */
  sync(conversationId, afterSeq = this.lastSeq.get(conversationId) ?? 0) {
    if (!this.lastSeq.has(conversationId)) this.lastSeq.set(conversationId, afterSeq);
    return this.request({ type: 'sync', conversationId, afterSeq });
  }

  receive(text) {
    let frame;
    try {
      frame = JSON.parse(text);
    } catch {
      return;
    }
    if (frame.type === 'welcome') {
      this.heartbeatSeconds = frame.heartbeatSeconds || 25;
      this.retryDelay = 500;
      this.setState('open');
      this.startHeartbeat();
      for (const entry of this.outbox.values()) this.socket.send(JSON.stringify(entry.frame));
      for (const entry of this.waiting.values()) {
        if (entry.pendingFrame) this.socket.send(JSON.stringify(entry.pendingFrame));
        delete entry.pendingFrame;
      }
      this.dispatchEvent(new CustomEvent('welcome', { detail: frame }));
    }
    if (frame.type === 'message' || frame.type.startsWith('conversation.') && frame.seq) this.track(frame.conversationId, frame.seq);
    if (frame.type === 'sync.done') this.track(frame.conversationId, frame.lastSeq);
    if (frame.type === 'message.ack') {
      this.track(frame.conversationId, frame.seq);
      const entry = this.outbox.get(frame.clientId);
      this.outbox.delete(frame.clientId);
      entry?.resolve(frame);
    }
    if (frame.type === 'error' && this.outbox.has(frame.ref)) {
      // Refused for good (the conversation closed, the text was invalid): stop resending it.
      const entry = this.outbox.get(frame.ref);
      this.outbox.delete(frame.ref);
      entry.reject(new ServerError(frame));
    }
    if (frame.ref && this.waiting.has(frame.ref)) {
      const entry = this.waiting.get(frame.ref);
      this.waiting.delete(frame.ref);
      clearTimeout(entry.timer);
      if (frame.type === 'error') entry.reject(new ServerError(frame));
      else entry.resolve(frame);
    }
    this.dispatchEvent(new CustomEvent('frame', { detail: frame }));
  }

  closed(socket, code) {
    if (socket !== this.socket) return;
    clearInterval(this.heartbeat);
    if (this.state === 'closed') return;
    if (FATAL.has(code)) {
      this.setState('closed');
      this.dispatchEvent(new CustomEvent('fatal', { detail: code }));
      return;
    }
    this.setState('reconnecting');
    this.retryTimer = setTimeout(() => this.connect(), this.retryDelay);
    this.retryDelay = Math.min(this.retryDelay * 2, 10000);
  }

  startHeartbeat() {
    clearInterval(this.heartbeat);
    this.heartbeat = setInterval(() => this.send({ type: 'ping', t: Date.now() }), this.heartbeatSeconds * 1000);
  }

  setState(state) {
    if (this.state === state) return;
    this.state = state;
    this.dispatchEvent(new CustomEvent('state', { detail: state }));
  }
}
