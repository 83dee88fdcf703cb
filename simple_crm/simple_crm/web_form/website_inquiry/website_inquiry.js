frappe.ready(function () {
	// a field people never see and robots fill in: an inquiry with it filled in is refused
	const honeypot = $('<input type="text" name="homepage" tabindex="-1" autocomplete="off">')
		.attr("aria-hidden", "true")
		.css({ position: "absolute", left: "-10000px", width: "1px", height: "1px", overflow: "hidden" });
	$(".web-form").append(honeypot);

	// where the visitor came from: the UTM tags of the link and the page before this one
	const params = new URLSearchParams(window.location.search);
	const tags = ["utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term"];

	frappe.web_form.validate = () => {
		const doc = frappe.web_form.doc;
		doc.homepage = honeypot.val();
		tags.forEach((tag) => {
			if (params.get(tag)) doc[tag] = params.get(tag);
		});
		doc.page_url = window.location.href;
		doc.referrer = document.referrer;
		return true;
	};
});
