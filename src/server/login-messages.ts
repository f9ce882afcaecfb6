// What the person who comes back from ID-porten (or opens a login link) is told, in the language
// the login asked for (ui_locales): bokmål, nynorsk or English. Northern Sami (se) is shown in
// bokmål until the texts are written by someone who writes Sami; the page says so in English too.
// Each text names the legal entity the authorization is for, so a person who manages several knows which.

export type OutcomeKind =
  | "success"
  | "codeReceived"
  | "loggedIn"
  | "altinnFailed"
  | "failed"
  | "notCompleted"
  | "slow"
  | "alreadyUsed"
  | "otherBrowser"
  | "notLoginResponse"
  | "unknownLogin"
  | "linkUsed"
  | "linkFailed"
  | "storeUnavailable"
  | "held";

export type Locale = "nb" | "nn" | "en";

interface Text {
  title: string;
  message: (entity: string, detail: string) => string;
}

const orgNo = (n: string) => (/^\d{9}$/.test(n) ? `${n.slice(0, 3)} ${n.slice(3, 6)} ${n.slice(6)}` : n);

const EN: Record<OutcomeKind, Text> = {
  success: { title: "Success", message: (e) => `You are authorized for ${e}. You can close this tab and go back to your system.` },
  codeReceived: {
    title: "Code received",
    message: (e) => `The authorization code for ${e} was received. Go back to your system and choose "Get access token" (EXCHANGE_CODE) now: the code is short-lived.`,
  },
  loggedIn: {
    title: "Logged in",
    message: (e) => `You are logged in with ID-porten for ${e}. Go back to your system and choose "NO Altinn: get access token" (EXCHANGE_ALTINN).`,
  },
  altinnFailed: { title: "Altinn step failed", message: (e, d) => `The ID-porten login for ${e} succeeded, but the Altinn token exchange did not. ${d}` },
  failed: { title: "Authorization failed", message: (e, d) => `The authorization for ${e} did not complete. ${d}` },
  notCompleted: { title: "Login not completed", message: (e, d) => `The ID-porten login for ${e} was not completed: ${d} No authorization was given.` },
  slow: {
    title: "Code received",
    message: (e) => `The authorization code for ${e} was received and is being exchanged; ID-porten is slow to answer. Your system will show the result.`,
  },
  alreadyUsed: {
    title: "Login already used or not in progress",
    message: () => "This login response was already used, or belongs to an earlier or another login. Nothing was changed. Start a new authorization if you need one.",
  },
  otherBrowser: {
    title: "Login started in another browser",
    message: (e) =>
      `This login for ${e} was started in another browser (or its login link was not opened here). For your safety the answer from ID-porten is only accepted in the browser that opened the login link. Nothing was changed. Start again from your system in this browser.`,
  },
  notLoginResponse: {
    title: "Not a login response",
    message: () => "This address receives the browser back from ID-porten; the request has no state and no code.",
  },
  unknownLogin: { title: "Unknown login", message: () => "This login response does not belong to any authorization in progress. Start again from your system." },
  linkUsed: {
    title: "Login link already used or expired",
    message: () =>
      "This login link was already opened in a browser, has expired, or belongs to a login that was replaced. A login link works once, in one browser. Start again from your system.",
  },
  linkFailed: { title: "ID-porten could not be reached", message: (e, d) => `The login for ${e} could not be sent to ID-porten: ${d} Try the link again in a moment.` },
  storeUnavailable: {
    title: "Try again in a moment",
    message: (e) => `This step of the login for ${e} could not be recorded: the service cannot reach its database just now. Reload this page in a moment; if that does not help, start again from your system.`,
  },
  held: {
    title: "Login received",
    message: (e) =>
      `Your login for ${e} was received and is kept, but the service cannot write it down just now (its database is out of reach); the login is completed when the database is back, if that is soon (the answer from ID-porten is short-lived). Your system will show the result.`,
  },
};

const NB: Record<OutcomeKind, Text> = {
  success: { title: "Fullført", message: (e) => `Du er autorisert for ${e}. Du kan lukke denne fanen og gå tilbake til systemet ditt.` },
  codeReceived: {
    title: "Kode mottatt",
    message: (e) => `Autorisasjonskoden for ${e} er mottatt. Gå tilbake til systemet ditt og velg «Hent tilgangstoken» (EXCHANGE_CODE) nå: koden varer kort.`,
  },
  loggedIn: {
    title: "Logget inn",
    message: (e) => `Du er logget inn med ID-porten for ${e}. Gå tilbake til systemet ditt og velg «NO Altinn: hent tilgangstoken» (EXCHANGE_ALTINN).`,
  },
  altinnFailed: { title: "Altinn-steget feilet", message: (e, d) => `Innloggingen i ID-porten for ${e} lyktes, men tokenvekslingen hos Altinn gjorde det ikke. ${d}` },
  failed: { title: "Autorisasjonen feilet", message: (e, d) => `Autorisasjonen for ${e} ble ikke fullført. ${d}` },
  notCompleted: { title: "Innloggingen ble ikke fullført", message: (e, d) => `Innloggingen i ID-porten for ${e} ble ikke fullført: ${d} Ingen autorisasjon ble gitt.` },
  slow: {
    title: "Kode mottatt",
    message: (e) => `Autorisasjonskoden for ${e} er mottatt og veksles nå; ID-porten svarer sakte. Systemet ditt viser resultatet.`,
  },
  alreadyUsed: {
    title: "Innloggingssvaret er allerede brukt",
    message: () => "Dette innloggingssvaret er allerede brukt, eller hører til en tidligere eller annen innlogging. Ingenting ble endret. Start en ny autorisasjon om du trenger en.",
  },
  otherBrowser: {
    title: "Innloggingen ble startet i en annen nettleser",
    message: (e) =>
      `Denne innloggingen for ${e} ble startet i en annen nettleser (eller innloggingslenken ble ikke åpnet her). For din sikkerhet godtas svaret fra ID-porten bare i nettleseren som åpnet innloggingslenken. Ingenting ble endret. Start på nytt fra systemet ditt i denne nettleseren.`,
  },
  notLoginResponse: { title: "Ikke et innloggingssvar", message: () => "Denne adressen tar imot nettleseren tilbake fra ID-porten; forespørselen har verken state eller kode." },
  unknownLogin: { title: "Ukjent innlogging", message: () => "Dette innloggingssvaret hører ikke til noen pågående autorisasjon. Start på nytt fra systemet ditt." },
  linkUsed: {
    title: "Innloggingslenken er brukt eller utløpt",
    message: () =>
      "Denne innloggingslenken er allerede åpnet i en nettleser, er utløpt, eller hører til en innlogging som er erstattet. En innloggingslenke virker én gang, i én nettleser. Start på nytt fra systemet ditt.",
  },
  linkFailed: { title: "Fikk ikke kontakt med ID-porten", message: (e, d) => `Innloggingen for ${e} kunne ikke sendes til ID-porten: ${d} Prøv lenken igjen om litt.` },
  storeUnavailable: {
    title: "Prøv igjen om litt",
    message: (e) =>
      `Dette steget i innloggingen for ${e} kunne ikke lagres: tjenesten får ikke kontakt med databasen sin akkurat nå. Last inn siden på nytt om litt; hjelper ikke det, start på nytt fra systemet ditt.`,
  },
  held: {
    title: "Innloggingen er mottatt",
    message: (e) =>
      `Innloggingen din for ${e} er mottatt og tatt vare på, men tjenesten kan ikke lagre den akkurat nå (databasen er utilgjengelig); innloggingen fullføres når databasen er tilbake, om det skjer snart (svaret fra ID-porten varer kort). Systemet ditt viser resultatet.`,
  },
};

const NN: Record<OutcomeKind, Text> = {
  ...NB,
  success: { title: "Fullført", message: (e) => `Du er autorisert for ${e}. Du kan lukke denne fana og gå tilbake til systemet ditt.` },
  codeReceived: {
    title: "Kode motteken",
    message: (e) => `Autorisasjonskoden for ${e} er motteken. Gå tilbake til systemet ditt og vel «Hent tilgangstoken» (EXCHANGE_CODE) no: koden varer kort.`,
  },
  loggedIn: {
    title: "Logga inn",
    message: (e) => `Du er logga inn med ID-porten for ${e}. Gå tilbake til systemet ditt og vel «NO Altinn: hent tilgangstoken» (EXCHANGE_ALTINN).`,
  },
  altinnFailed: { title: "Altinn-steget feila", message: (e, d) => `Innlogginga i ID-porten for ${e} lukkast, men tokenvekslinga hos Altinn gjorde det ikkje. ${d}` },
  failed: { title: "Autorisasjonen feila", message: (e, d) => `Autorisasjonen for ${e} vart ikkje fullført. ${d}` },
  notCompleted: { title: "Innlogginga vart ikkje fullført", message: (e, d) => `Innlogginga i ID-porten for ${e} vart ikkje fullført: ${d} Inga autorisasjon vart gjeven.` },
  otherBrowser: {
    title: "Innlogginga vart starta i ein annan nettlesar",
    message: (e) =>
      `Denne innlogginga for ${e} vart starta i ein annan nettlesar (eller innloggingslenkja vart ikkje opna her). For tryggleiken din vert svaret frå ID-porten berre godteke i nettlesaren som opna innloggingslenkja. Ingenting vart endra. Start på nytt frå systemet ditt i denne nettlesaren.`,
  },
  storeUnavailable: {
    title: "Prøv igjen om litt",
    message: (e) =>
      `Dette steget i innlogginga for ${e} kunne ikkje lagrast: tenesta får ikkje kontakt med databasen sin akkurat no. Last inn sida på nytt om litt; hjelper ikkje det, start på nytt frå systemet ditt.`,
  },
  held: {
    title: "Innlogginga er motteken",
    message: (e) =>
      `Innlogginga di for ${e} er motteken og teken vare på, men tenesta kan ikkje lagre ho akkurat no (databasen er utilgjengeleg); innlogginga vert fullført når databasen er tilbake, om det skjer snart (svaret frå ID-porten varer kort). Systemet ditt viser resultatet.`,
  },
};

const TEXTS: Record<Locale, Record<OutcomeKind, Text>> = { en: EN, nb: NB, nn: NN };

/** The page's language from the login's ui_locales: nb, nn, en; se falls back to nb; anything else to en. */
export function pageLocale(uiLocale: string | null | undefined): { locale: Locale; fallbackNote: string | null } {
  if (uiLocale === "nb" || uiLocale === "nn" || uiLocale === "en") return { locale: uiLocale, fallbackNote: null };
  if (uiLocale === "se") return { locale: "nb", fallbackNote: "This page is not yet available in Northern Sami; it is shown in Norwegian bokmål." };
  return { locale: "en", fallbackNote: null };
}

export function outcomeText(kind: OutcomeKind, locale: Locale, legalEntity: string | undefined, detail = ""): { title: string; message: string } {
  const text = TEXTS[locale][kind];
  const entity = legalEntity ? (locale === "en" ? `organisation ${orgNo(legalEntity)}` : `organisasjon ${orgNo(legalEntity)}`) : locale === "en" ? "your organisation" : "organisasjonen";
  return { title: text.title, message: text.message(entity, detail).replace(/\s+$/, "") };
}

/** Outcomes that are good news (the page shows them in green). */
export const GOOD_OUTCOMES: ReadonlySet<OutcomeKind> = new Set(["success", "codeReceived", "loggedIn", "slow", "held"]);
