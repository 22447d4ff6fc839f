/** Test helpers for the API's routes over TCP: one JSON call, and a server-sent event stream. */
import { request } from 'node:http';
import { SseParser } from './sse.js';

export interface JsonReply {
  status: number;
  json: Record<string, unknown> & { error?: { code: string; message: string } };
}

/** One request with an optional JSON body (a string is sent as is); the reply parsed as JSON. */
export function callJson(port: number, method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<JsonReply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, agent: false, signal, headers: body === undefined ? {} : { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) as JsonReply['json'] }));
    });
    req.on('error', reject);
    req.end(body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body));
  });
}

export interface OpenStream<T> {
  status: number;
  events: { event: string; data: T }[];
  body: string;
  close: () => void;
}

/** Opens a GET event stream; resolves once the status is in, then collects its events as they come. */
export function openStream<T>(port: number, path: string): Promise<OpenStream<T>> {
  return new Promise((resolve, reject) => {
    const events: { event: string; data: T }[] = [];
    const parser = new SseParser();
    const req = request({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
        for (const m of parser.feed(chunk)) events.push({ event: m.event, data: JSON.parse(m.data) as T });
      });
      resolve({
        status: res.statusCode ?? 0,
        events,
        get body() {
          return body;
        },
        close: () => req.destroy(),
      });
    });
    req.on('error', (err) => ((err as NodeJS.ErrnoException).code === 'ECONNRESET' ? undefined : reject(err)));
    req.end();
  });
}
