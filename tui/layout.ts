/**
 * Screen layout maths: where each panel goes for a terminal of `cols` x `rows`. Pure, so 80x24 and
 * resizes are unit-tested rather than eyeballed.
 */
export interface Rect {
  top: number;
  left: number;
  width: number;
  height: number;
}

export interface Layout {
  header: Rect;
  /** Height 0 when no alarm is shown. */
  banner: Rect;
  members: Rect;
  /** Raft's store and named elections, under the members (height 0 when not shown). */
  elections: Rect;
  chart: Rect;
  timeline: Rect;
  log: Rect;
  footer: Rect;
  /** Member rows that fit inside the members box (below its border and column header). */
  memberRows: number;
  /** Log lines that fit inside the log box. */
  logRows: number;
}

export const HEADER_HEIGHT = 2;
export const FOOTER_HEIGHT = 1;
/** Two chart lines inside a border. */
export const CHART_HEIGHT = 4;
const MIN_MEMBERS_HEIGHT = 5;
const MIN_BOTTOM_HEIGHT = 4;
/** Share of the space below the chart given to the timeline and log. */
const BOTTOM_SHARE = 0.42;

/** Most election lines the elections box shows (the members keep the rest). */
export const MAX_ELECTION_ROWS = 4;

/** `electionRows`: lines for the elections box (0: no box; at most MAX_ELECTION_ROWS). */
export function computeLayout(cols: number, rows: number, bannerShown: boolean, electionRows = 0): Layout {
  const width = Math.max(20, cols);
  const height = Math.max(HEADER_HEIGHT + FOOTER_HEIGHT + CHART_HEIGHT + MIN_MEMBERS_HEIGHT + MIN_BOTTOM_HEIGHT, rows);
  const bannerHeight = bannerShown ? 1 : 0;
  const rest = height - HEADER_HEIGHT - bannerHeight - CHART_HEIGHT - FOOTER_HEIGHT;
  // The banner's line comes out of the members table: the log and timeline keep their size.
  const bottomHeight = Math.max(MIN_BOTTOM_HEIGHT, Math.floor((rest + bannerHeight) * BOTTOM_SHARE));
  // The elections box comes out of the members table, which keeps at least its minimum.
  const wanted = electionRows > 0 ? Math.min(MAX_ELECTION_ROWS, electionRows) + 2 : 0;
  const electionsHeight = Math.max(0, Math.min(wanted, rest - bottomHeight - MIN_MEMBERS_HEIGHT));
  const membersHeight = rest - bottomHeight - electionsHeight;
  const membersTop = HEADER_HEIGHT + bannerHeight;
  const electionsTop = membersTop + membersHeight;
  const chartTop = electionsTop + electionsHeight;
  const bottomTop = chartTop + CHART_HEIGHT;
  // The timeline needs about 36 columns for "hh:mm:ss from -> to tN gap"; the log gets the rest.
  const timelineWidth = Math.min(46, Math.max(36, Math.floor(width * 0.42)));
  return {
    header: { top: 0, left: 0, width, height: HEADER_HEIGHT },
    banner: { top: HEADER_HEIGHT, left: 0, width, height: bannerHeight },
    members: { top: membersTop, left: 0, width, height: membersHeight },
    elections: { top: electionsTop, left: 0, width, height: electionsHeight },
    chart: { top: chartTop, left: 0, width, height: CHART_HEIGHT },
    timeline: { top: bottomTop, left: 0, width: timelineWidth, height: bottomHeight },
    log: { top: bottomTop, left: timelineWidth, width: width - timelineWidth, height: bottomHeight },
    footer: { top: height - FOOTER_HEIGHT, left: 0, width, height: FOOTER_HEIGHT },
    memberRows: membersHeight - 3,
    logRows: bottomHeight - 2,
  };
}

/** The first row to show so that `selected` stays visible, moving the window as little as possible. */
export function scrollWindow(total: number, selected: number, visible: number, previousFirst: number): number {
  if (visible <= 0 || total <= visible) return 0;
  let first = Math.min(Math.max(0, previousFirst), total - visible);
  if (selected < first) first = selected;
  if (selected >= first + visible) first = selected - visible + 1;
  return first;
}
