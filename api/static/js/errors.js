// An API answer that was not a success, described for people from its JSON `detail`.

import { t } from "./i18n.js";

export class ApiError extends Error {
  /** `status` 0 means the request never got an answer (network down, server gone). */
  constructor(status, body) {
    super(describe(status, body));
    this.status = status;
    this.body = body;
  }
}

function describe(status, body) {
  const detail = body?.detail;
  if (typeof detail === "string" && detail) return detail;
  if (Array.isArray(detail) && detail.length) {
    return detail
      .map((problem) => {
        const where = (problem.loc ?? []).filter((part) => part !== "body").join(".");
        return where ? `${where}: ${problem.msg}` : String(problem.msg);
      })
      .join("; ");
  }
  return status === 0 ? t("error.network") : t("error.http", { status });
}

/** What to tell a person about any failure. */
export function message(error) {
  return error instanceof ApiError ? error.message : t("error.unexpected");
}
