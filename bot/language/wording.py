"""What a message says in so many words: the wordings that make a reading clear enough to act on.

The classifier may read "¿de parte de quién? no reconozco este número" as a wrong number, or "estoy pelado
este mes" as a job loss. Acts the debtor cannot undo in the chat (marking the number wrong, an opt-out, a
dispute) and the empathy lines that name a cause need the words themselves: these checks say whether the text
carries them. Pure functions over ``text.normalise`` (lower case, no accents, no emoji), tolerant of the
colloquial Spanish of Colombia, Mexico, Argentina, Peru and Chile; a wording not listed here is not "clear",
it is asked about (never acted on by guess).
"""

from __future__ import annotations

import re

from bot.language.text import normalise


def _any(*patterns: str) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in patterns))


# --- acts that cannot be undone in the chat ---------------------------------------------------------------

_WRONG_NUMBER = _any(
    r"\b(numero|cel|celular|telefono|contacto|linea) (equivocad|errad|incorrect)",
    r"\bequivocad[oa]s? de (numero|persona|contacto)",
    r"\bse (equivocaron|equivoco|confundieron|confundio) de (numero|persona|contacto)",
    r"\b(le )?(erraron|pifiaron) (al|el) numero",
    r"\bno soy (yo )?(esa|la|el|ese) (persona|senor|senora|titular|cliente|que|q)\b",
    r"\bno soy (a )?quien buscan",
    r"\bno soy (el|la) titular",
    r"\bno conozco a (esa|ese|ningun|ninguna|nadie|esa tal|ese tal)\b",
    r"\b(aqui|aca) no (vive|hay|es|trabaja|conocemos)\b",
    r"\b(no|ya no) es (el|su|mi) (numero|cel|celular|telefono) de",
    r"\bya no (tiene|usa) (este|ese) (numero|cel|celular|telefono)",
    r"\b(este|ese) (numero|cel|celular|telefono|chip|wasap|whatsapp) (ya )?no es de",
    r"\bpersona equivocada",
    r"\b(mensajes?|esto|eso) (no )?(son|es|era)? ?para (otra persona|alguien mas)",
    r"\bme confundieron con otra persona",
    r"^equivocad[oa]s?\b",
    r"\bno me llamo asi\b",
    r"\bese no es mi nombre\b",
    r"\b(ese )?no soy yo\b|\bno soy ese\b|\balguien que no soy yo|\bno me llamo\b|\byo me llamo\b",
    r"\bno tengo ese apellido|\bse (equivocaron|confundieron)\b|\bestan (equivocados|confundidos)|\bequivocadisim",
    r"\bal numero que no es|\btienen mal el numero|\bme escribieron por error",
    r"\b(esa persona|ese senor|esa senora|la persona que buscan|el chico que buscan|la senora que buscan) "
    r"(no|ya no|era|se)\b",
    r"\b(este|el) (numero|cel|celular|telefono|wasap|whatsapp) (es|lo tengo|ya lo usa|antes era|era de)\b",
    r"\b(nueva|nuevo) (duena|dueno) de (esta|la) linea|\bduena anterior|\bdueno anterior",
    r"\bno (la|lo) conozco\b|\b(no se|no tengo idea( de)?|ni idea) quien (es|la tenia)|\bnunca he tenido trato con",
    r"\bno (es|era) para mi\b|\bpara otra persona|\bno tengo nada que ver con esa persona",
)

# "¿de parte de quién?", "¿quién es?", "¿quién me escribe?": a question, not a statement that the number is wrong
_WHO_IS_WRITING = _any(
    r"\bde parte de quien\b",
    r"\bquien (es|habla|escribe|me escribe|me habla|son|eres|sos|me busca)\b",
    r"\bquienes son\b",
    r"\bde (donde|que empresa|que lugar) (me )?(escriben|hablan|llaman)\b",
    r"\b(con )?quien tengo el gusto\b",
    r"\bquien (les|le) dio (mi|este) numero\b",
    r"\bcomo (consiguieron|obtuvieron|tienen) (mi|este) numero\b",
)

_OPT_OUT = _any(
    r"\bno (me )?(escriban|escribas|escriba|manden|mandes|envien|contacten|vuelvan a|molesten|jodan|llamen)\b",
    r"\b(dejen|deja|paren|para) de (escribir|mandar|enviar|molestar|llamar|acosar|contactar)",
    r"\b(ya )?no (quiero|deseo|acepto) (recibir|mas|que me|saber|seguir recibiendo)",
    r"\bno autorizo\b",
    r"\brevoco\b",
    r"\bdar(me)? de baja\b",
    r"^baja\b",
    r"\bbaja (de|definitiva|ya|por favor|porfa)\b",
    r"\bstop\b",
    r"\bunsubscribe\b",
    r"\bdesuscrib",
    r"\b(borren|eliminen|quiten|retiren|saquen|bajen|bloqueen)(me|nme|nlo)? (mi|mis|este|de|el)\b",
    r"\b(borrenme|eliminenme|quitenme|saquenme|bajenme|bajame|sacame|quitame)\b",
    r"\bno mas (mensajes|whatsapp|notificaciones|recordatorios)\b",
    r"\b(basta|alto|suficiente) (de|a los|ya de|ya con) (mensajes|whatsapp|notificaciones)",
    r"\bcancel(ar|en) (la suscripcion|suscripcion|los mensajes|mensajes|las notificaciones|los avisos|todos)",
)

_DISPUTE = _any(
    r"\bno reconozco (esa|ese|esta|este|esos|esas|estos|estas|la|el|los|las|ningun|ninguna) ?(deuda|cobro|cargo|monto|"
    r"prestamo|credito|factura|saldo|intereses|cuenta|consumos|compras|cargos|cantidad|cifra)",
    r"\b(deuda|cobro|cargo|monto|prestamo|credito|factura|saldo|cuenta)s? no (la|lo|los|las) reconozco",
    r"\bdesconozco (totalmente )?(esa|ese|la|el)\b",
    r"\b(esa|la|esta) (deuda|cuenta|factura|plata) no (es|me corresponde|corresponde|la debo)",
    r"\bno es (mi|mia) (deuda|cuenta|credito)|no es mia (esa|la) (deuda|cuenta)",
    r"\b(no|nunca) (les )?debo\b",
    r"\bno tengo (ninguna )?deudas? (con|pendientes)",
    r"\bno (es|son) mi[oa]s?\b",
    r"\b(nunca|jamas|yo no) (pedi|saque|solicite|firme|contrate|compre|tuve|he sacado|abri)\b",
    r"\bimpugn",
    r"\bdisputo\b",
    r"\bfraude\b|\bestafa\b|suplant|robo de identidad|usaron mis (datos|documentos)|con mis datos",
    r"\bprescri",
    r"\bcobro (indebido|abusivo|duplicado)",
    r"\b(monto|saldo|cobro|cifra|cantidad|mora) (esta|es) (mal|equivocad|inflad|incorrect)",
    r"\bno estoy (de acuerdo|conforme) con",
    r"\b(quiero|voy a) (reclamar|impugnar|presentar un reclamo|hacer un reclamo)",
    r"\bno (me )?corresponde",
    r"\b(intereses|cargos?) (abusivos|que no)",
    r"\bno (lo|la|los|las) debo\b|\bno es lo que debo|\bno existe\b|\b(es|son) (falsa|falso|inventad)|\binventad",
    r"\bmal calculad|\binflad|\bcobr\w* de mas\b|\bel doble\b|\bduplicad|\bno (es|son) (correct|real)",
    r"\bno cuadra|\bcobrando mal|\busura|\babusiv|\bilegal|\bno procede|\bno (lo|la|los|las) reconozco",
    r"\bnunca (lo|la|los|las) (hice|hizo|pedi|acepte|solicite)|\byo no (lo|la) solicite|\byo no fui\b",
    r"\bhaciendose pasar|\bfalsific|\bclonaron|\bcon mi (cedula|dni|rut|identidad|firma)|\busaron mi",
    r"\bde otra persona|\bde mi ex\b|\bse equivocaron de cuenta|\bno tengo (nada|contrato|ningun credito) con",
    r"\bno (lo|la|los|las) (acepto|voy a pagar|pago)\b|\bplazo legal|\bno puede ser\b|\bquien les dijo",
)


# "no quiero que me sigan escribiendo", "dejen de escribirme", "no me escriban más": a request to stop that no
# other reading shares (not "no me manden el link todavía")
_OPT_OUT_PLAINLY = _any(
    r"\b(ya )?no (quiero|deseo) que me (sigan |vuelvan a |sigas |vuelvas a )?(escrib|mand|envi|contact|llam|molest)\w*",
    r"\b(dejen|deje|paren|pare|deja|para) de (escribir|mandar|enviar|molestar|contactar)(me|le)?\b",
    r"\bno (me )?(escriban|escribas|escriba|contacten|molesten) (mas|nunca mas)\b",
    r"\bno (me )?(vuelvan|vuelva|vuelvas) a (escribir|contactar|molestar|mandar mensajes)\b",
)

# "¿qué es este cobro?", "¿y esto de qué es?", "no entiendo de dónde sale": a question about the charge, which
# may lead to a claim (asked first, never recorded on the question alone)
_WHAT_IS_IT = _any(
    r"\bque es (este|ese|esta|esa|esto|eso)( cobro| cargo| deuda| monto| cuenta| saldo| mensaje)?\b",
    r"\b(esto|eso|este cobro|ese cobro|esta deuda|esa deuda) (de )?que es\b",
    r"\bde (donde|que) (sale|salio|viene|es) (este|ese|esto|eso|esta|esa|la deuda|el cobro|el cargo|el monto)\b",
    r"\bno (entiendo|se) (de donde|por que|porque|que es|a que se debe)\b",
    r"\ba que (se debe|corresponde) (este|ese|esto|eso|esta|esa|el cobro|la deuda|el cargo)\b",
    r"\bpor que (me )?(cobran|estan cobrando|me llega este cobro)\b",
)


def says_opt_out_plainly(text: str) -> bool:
    """ "Ya no quiero que me sigan escribiendo", "dejen de escribirme": no other request reads so."""
    return bool(_OPT_OUT_PLAINLY.search(normalise(text or "")))


def asks_what_it_is(text: str) -> bool:
    """ "¿Qué es este cobro?", "¿y esto de qué es?", "no entiendo de dónde sale": the debtor questions the charge."""
    return bool(_WHAT_IS_IT.search(normalise(text or "")))


# "tuve problemas con mi tarjeta y no podía pagar", "no he podido pagar": a reason, even with no cause named
_COULD_NOT_PAY = _any(
    r"\bno (pude|podia|podiamos|he podido|hemos podido|pudimos|alcance a) (pagar|cancelar|abonar|hacer el pago)\b",
    r"\btuve (un |unos |varios )?(problema|problemas|inconveniente|inconvenientes|contratiempo|contratiempos)\b",
)


def says_could_not_pay(text: str) -> bool:
    """ "No pude pagar", "tuve problemas con la tarjeta": the debtor tells why, though no cause listed is named."""
    return bool(_COULD_NOT_PAY.search(normalise(text or "")))


def says_wrong_number(text: str) -> bool:
    """ "Número equivocado", "no soy esa persona", "no conozco a esa persona", "aquí no vive nadie así"."""
    return bool(_WRONG_NUMBER.search(normalise(text or "")))


def asks_who_is_writing(text: str) -> bool:
    """ "¿De parte de quién?", "¿quién es?": the person asks who writes before saying anything else."""
    return bool(_WHO_IS_WRITING.search(normalise(text or "")))


def says_opt_out(text: str) -> bool:
    """ "No me escriban más", "quiero darme de baja", "bórrenme de la lista" (not "basta" or "déjenme en paz")."""
    return bool(_OPT_OUT.search(normalise(text or "")))


def says_dispute(text: str) -> bool:
    """ "No reconozco esa deuda", "esa deuda no es mía", "nunca pedí ese crédito", "el monto está mal"."""
    return bool(_DISPUTE.search(normalise(text or "")))


# --- an answer put off ------------------------------------------------------------------------------------

# "lo hablo con mi esposa y le confirmo": not a «sí», not a «no», not nonsense; the debtor will answer later
_DEFERS = _any(
    r"\b(lo|la|eso) (hablo|converso|platico|consulto|pienso|reviso|veo|chequeo|charlo)\b",
    r"\b(tengo|debo|necesito|voy a|dejeme|deje|dejame|deja) (que )?(hablarlo|consultarlo|pensarlo|revisarlo|verlo|"
    r"hablar|consultar|pensar|revisar|chequear|platicar|conversar)\b",
    r"\b(le|te) (confirmo|aviso|digo|escribo|respondo|contesto) (luego|despues|mas tarde|manana|en un rato|"
    r"al rato|ahorita)\b",
    r"\b(luego|despues|mas tarde|manana|en un rato|al rato|ahorita) (le|te) (confirmo|aviso|digo|escribo|respondo|"
    r"contesto)\b",
    r"\by (le|te) (confirmo|aviso|digo|escribo|respondo|contesto)\b",
    r"\bya (le|te) (confirmo|aviso|digo)\b",
    r"\b(no se|no estoy segur[oa]) todavia\b|\btodavia no (se|lo se|decido)\b",
)


def defers(text: str) -> bool:
    """ "Lo hablo con mi esposa y le confirmo", "déjeme pensarlo", "mañana le aviso": an answer put off."""
    return bool(_DEFERS.search(normalise(text or "")))


# --- a limit the debtor cannot meet ---------------------------------------------------------------------

# told "puede ser cualquier fecha hasta el 20", the debtor says no day before it works: "imposible antes de esa
# fecha", "antes no puedo", "no llego para esa fecha", "ni modo antes del 30"
_CANNOT_SOONER = _any(
    r"\b(imposible|no (puedo|podria|podre|alcanzo|llego|me da|me alcanza|se puede|creo poder|hay (forma|manera|chance"
    r"|modo|como))|ni modo|ni de chiste|de ninguna manera|no me es posible|me queda imposible|no hay chance)\b"
    r"( \w+){0,4} (antes|mas pronto|tan pronto|tan rapido|para esa fecha|en esa fecha|para entonces|en ese plazo)\b",
    r"\bantes( de esa fecha| de eso| de ese dia| del \d{1,2}| de esa| de la fecha)? (no|imposible|ni modo|ni de chiste"
    r"|me es imposible|me queda imposible|se me hace imposible|no hay (forma|manera|chance|modo|como))\b",
    r"\b(esa fecha|ese plazo|ese dia) (no|ni modo|imposible|es imposible|me queda (imposible|dificil))\b"
    r"( \w+){0,3}( (alcanzo|llego|puedo|me da|me alcanza|sirve|me sirve))?",
)


def cannot_sooner(text: str) -> bool:
    """ "Imposible antes de esa fecha", "antes no puedo", "no llego para esa fecha": the limit the bot gave is too
    soon for the debtor (what the bot offered instead is the next step, not another date)."""
    return bool(_CANNOT_SOONER.search(normalise(text or "")))


# --- what the debtor said about why they have not paid ----------------------------------------------------

_WORK = r"(trabajo|trabajito|empleo|chamba|chambita|pega|laburo|camello|curro|jale)"

REASON_CUES: dict[str, re.Pattern[str]] = {
    # losing work, or the business one lived on
    "job_loss": _any(
        r"\bdespid|\bdespido\b",
        r"\bme (echaron|botaron|corrieron|rajaron|cesaron)\b",
        r"\bnos (echaron|botaron|corrieron|despidieron|mandaron a todos)\b",
        r"\b(me|nos) (sacaron|recortaron|cortaron|bajaron) (de|del) (la )?(trabajo|empleo|chamba|pega|laburo|camello|"
        r"curro|jale|empresa|fabrica|planta|contrato)",
        r"\b(me|nos) liquidaron\b(?! (las|los|el|la) (horas|sueldo|quincena|vacaciones|pago|viaticos))",
        r"\bno me han liquidado del",
        rf"\bsin (el |la |mi )?{_WORK}",
        r"\b(me|nos) (cortaron|recortaron) en (la|el)\b",
        rf"\b(no tengo|ya no tengo|no he tenido|no encuentro|no consigo|buscando|perdi|perdio) (el |mi |la )?{_WORK}",
        rf"\bme quitaron (el|la) {_WORK}",
        r"\bdesemplead|\bdesocupad|\bcesante",
        r"\b(estoy|ando) parad[oa]\b",
        r"\bno me renovaron\b|\b(se me )?termin(o|aron) (el |mi )?contrato|\bno hay trabajo|\bno ha habido trabajo",
        r"\brecorte de personal|\bquede fuera\b|\bme dieron (las gracias|de baja) en\b|\brenunci",
        r"\bquebr(o|aron)\b",
        r"\b(cerraron|cerro|cerrar|me cerraron) (el |mi |la )?(local|negocio|fabrica|tienda|puesto|taller|tallercito|"
        r"sucursal|maquila|empresa)",
        r"\bya no trabajo\b|\b(el|mi) negocio cerro\b",
    ),
    "health": _any(
        r"\benferm|\bsalud\b|\bhospital|\binternad|\binternaron|\bclinica|\boperaron|\boperacion|\bcirugia",
        r"\bmedic|\bdoctor|\bdentista|\baccident|\bfractur|\bse quebro (la|el)|\bme quebre",
        r"\bcovid|\bdengue|\bgrip[ea]|\binfluenza|\bneumonia|\bvirus\b|\binfec|\bcancer|\bquimio|\bdiabetes",
        r"\bdialisis|\binsulina|\binfarto|\bacv\b|\buci\b|\bterapia intensiva|\burgencias|\bemergencia",
        r"\bincapacit|\breposo|\bcon licencia\b|\blicencia medica|\bparto\b|\bcesarea|\bdio a luz|\bembaraz",
        r"\bdepresion|\bhernia|\bgastritis|\bapendicitis|\bvesicula|\bbronquitis|\bla presion\b|\brecaida",
        r"\benyesad|\bposta\b|\batropell|\btuve un choque|\bme cai\b|\bse cayo\b|\bremedios|\bmalit[oa]",
        r"\b(se|me) (rompio|rompi|quebro|quebre) (el|la) (brazo|pie|pierna|mano|cadera|tobillo)",
        r"\bincubadora|\ben observacion|\bme pico\b|\bmordio",
    ),
    # pay that has not arrived yet, or arrives late
    "late_pay": _any(
        r"\bquincena|\bsueldo|\bsalario|\bnomina\b|\braya\b|\baguinaldo|\bfiniquito|\bhonorarios|\bviaticos",
        r"\bpension\b(?! de la (universidad|u)\b)|\bremesa|\bsubsidio|\bliquidacion|\bbono\b|\bcheque",
        r"\bme (pagan|pagaron|paguen|paga|depositan|depositaron|transfieren|caiga|cae)\b",
        r"\bno me (han |ha )?(pagado|depositado|transferido|pagan|pagaron|depositan|cae|cayo|caido|llega|llego|"
        r"llegado)",
        r"\b(todavia|aun|recien) (no )?(me )?(pagan|cobr|depositan|cae|llega)",
        r"\bno cobr|\bcobro (el|a|recien|los|por|hasta)\b|\bcobre tarde",
        r"\bme deben\b|\bquedo debiendo|\bquedaron debiendo|\bhasta que me paguen|\bdia de pago|\bdeposito\b",
        r"\bpagan (tarde|atrasado|cada|por|hasta|mes vencido)|\bpago (atrasad|tarde)|\batrasaron|\bse atraso",
        r"\bpag(a|an|aron|ado|o|ando) tarde\b|\bno (nos|me) (han|ha|habian|habia) pagado|\bnos pagan\b",
        r"\b(empresa|patron|jefe) no (me |nos )?paga\b|\batrasad[oa] con los pagos|\bno hubo pago|\bcobro menos",
        r"\b(el|mi) pago (del mes|viene|de mi|como|se)|\bme lo dan\b|\bpaga cada\b|\btanda\b|\bliquidaron las",
        r"\btransferencia de\b|\bno me liquidaron\b",
        r"\b(me|nos) (cambiaron|movieron|corrieron|pasaron) (la|el) (fecha|dia) de (pago|cobro|deposito)",
        r"\bretras|\bcon retraso|\bviene atrasad|\bllega tarde|\bno (me )?ha (salido|soltado|pagado)",
        r"\bcliente(s)? (no|todavia no|aun no) me (ha |han )?pag|\besperando (que me paguen|el pago|la plata|la "
        r"quincena|el deposito)",
    ),
    # income that dropped: sales, hours, commissions, harvest
    "low_income": _any(
        r"\bventas?\b|\bvend[ie]\b|\bvender\b|\bnegocio (anda|esta|no)|\bcomision",
        r"\b(me|nos) (bajaron|rebajaron|redujeron|cortaron|recortaron|descontaron) (el|la|las|los|un)",
        r"\bpedidos\b|\bclient[ae]s\b|\bturnos\b|\bjornada\b|\bmedio tiempo|\bcosecha|\bhelada|\btemporada",
        r"\bno (lo )?pude (trabajar|salir a (trabajar|vender))|\bno hubo trabajo\b",
        r"\bcasi no hay trabajo|\bpoco trabajo|\bno entro nada|\bno levanta|\bflojo\b|\bpor dia\b",
    ),
    "forgot": _any(
        r"\bolvid|\bse me (paso|pasaron|fue|chispote|borro|escapo|volo|cruzaron|traspapelo|re paso)",
        r"\bno me (acorde|acordaba|fije|di cuenta)|\bni (me )?(acorde|acordaba|di cuenta|entere|cuenta)",
        r"\bme (confundi|distraje|despiste|enrede|equivoque|mezcle|hice bolas|gui)\b|\bdespist|\bconfundi",
        r"\b(pense|pensaba|crei|entendi) que\b|\bno sabia que\b|\bno vi (el|la)\b|\bno cai en cuenta",
        r"\bcolgad|\bperdi la nocion|\banot|\bapunte|\bcalendario|\bno tenia (presente|claro|idea|la fecha)",
        r"\bni pense|\bme di cuenta|\bse me (perdio|vencio)|\ben otra\b|\bfecha (de pago )?en otro|\bno revise",
        r"\bfecha del mes anterior|\bestuve full\b",
        r"\blei mal|\balarma\b|\bno supe\b|\bni supe|\brecordatorio|\baviso\b|\bautomatico|\bme acorde",
    ),
    # other debts, bills and expenses that came first
    "other_debts": _any(
        r"\bdeud|\bdebo\b|\bdebia\b|\bendeud|\bcuentas\b|\bgastos?\b|\barriendo|\balquiler|\brenta\b|\bhipoteca",
        r"\bdividendo|\btarjeta|\bprestamo|\bcredito|\bcooperativa|\bcolegio|\bcolegiatura|\bmatricula|\butiles",
        r"\buniformes|\blista escolar|\binscripciones|\bla luz\b|\bel agua\b|\bel gas\b|\bpredial|\btenencia",
        r"\bservicios\b|\bbanco|\bprestamista|\bgota a gota|\bdicom|\bcuotas? del\b|\bpague\b|\btuve que pagar",
        r"\bpresupuesto|\bse me (junt|vin|cruzaron los pagos)|\bfiesta de quince|\bla universidad|\bcoppel|\belektra",
        r"\bcobraron doble|\bseguro del|\bestoy pagando\b|\ben otras (cosas|cuentas|deudas)",
    ),
    "service_issue": _any(
        r"\bservicio|\binternet|\bmodem|\bsenal\b|\bfactura|\brecibo|\bboleta|\bestado de cuenta|\bpagina",
        r"\bapp\b|\baplicacion|\blink\b|\bplataforma|\bsistema de pago|\bboton|\bcajero|\bcodigo|\breferencia",
        r"\bpedido|\bproducto|\bequipo|\baparato|\bmercaderia|\bpantalla|\blavadora|\brefri|\bnevera|\btele\b",
        r"\bdecodificador|\bcable\b|\binstal|\btecnico|\bcolchon|\bsillon|\blaptop|\baire acondicionado|\bcurso\b",
        r"\bdefectuos|\bfallad|\bfall(a|o)\b|\bno funciona|\bno sirve|\bno (me )?(ha )?(llego|llega|llegado)",
        r"\broto\b|\brota\b|\bdanad|\bcobraron\b|\bfacturaron|\bcargo\b|\breclamo|\bsuspendieron|\bentregan",
        r"\bcelular (que|nuevo)|\bsalio mal|\bse reinicia|\bme vendieron|\ben el taller",
        r"\babollad|\berror\b|\bse cae\b|\bcaid[oa]\b|\bno prende|\bno carga|\bno agarra|\bactivaron",
    ),
    # short of money, with no cause named: "estoy pelado", "no me alcanza", "no tengo lana"
    "short_of_money": _any(
        r"\bpelad[oa]|\bmisi[oa]\b|\bcortisim|\ben la lona|\ben la ruina|\ben ceros?\b|\bbruj[oa]\b",
        r"\bsin (plata|lana|guita|luca|lucas|dinero|un peso|un centavo|un mango|un sol|billete|un duro|nada)",
        r"\bno (tengo|hay|me queda|tenia) (ni )?(una |un )?(plata|lana|guita|luca|lucas|dinero|billete|peso|mango|"
        r"centavo|sol|cobre|para)\b",
        r"\bno (me )?alcanz|\b(estoy|ando|quede|me quede|me dejo) (bien |muy |re |super )?(corto|corta|seco|seca|"
        r"quebrad|limpi|apretad|ajustad|sin un)",
        r"\bno me dio la plata|\bno llegue con la plata|\bno (alcance a )?junt",
    ),
}


def reason_cues(text: str) -> frozenset[str]:
    """The causes the text itself names (``REASON_CUES``' keys)."""
    plain = normalise(text or "")
    return frozenset(name for name, pattern in REASON_CUES.items() if pattern.search(plain))
